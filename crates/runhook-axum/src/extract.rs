//! The [`Webhook`] extractor: a validated event from the raw request.

use axum::extract::{FromRequest, Request};
use runhook_receiver::WebhookChecks;

runhook_receiver::webhook_types! {
    /// Extracts a validated webhook [`Event`], as every runhook adapter's `Webhook` does: the method
    /// first (405, before any of the body is read), then the raw body, read with the body limit
    /// (413), the body timeout and the process's body budget (503), never re-encoded, then
    /// [`runhook::receive()`] (401, 415, 400). A refused request is answered by
    /// [`WebhookRejection`]: the status and the JSON body every runhook receiver sends.
    ///
    /// The settings are the [`WebhookChecks`] found in the request's extensions (add them with
    /// `.layer(axum::Extension(checks))`; a [`RequestChecks`](runhook::receive::RequestChecks) there
    /// works too), or the defaults: 8 MiB body limit, no authenticator, 10 s body timeout, the
    /// global body budget.
    ///
    /// The extractor validates; it does not deduplicate. For deduplication by `run_id`, a deadline
    /// and the handler contract, use [`webhook_route`](crate::webhook_route).
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use axum::routing::post;
    /// use runhook::Event;
    /// use runhook_axum::Webhook;
    ///
    /// async fn hook(Webhook(event): Webhook) -> StatusCode {
    ///     match event {
    ///         Event::Completed(run) => println!("{}: {:?}", run.run_id, run.data.result.value()),
    ///         other => println!("{} for {:?}", other.name(), other.run_id()),
    ///     }
    ///     StatusCode::OK
    /// }
    ///
    /// let app: axum::Router = axum::Router::new().route("/webhooks/tinyfish", post(hook));
    /// # drop(app);
    /// ```
    ///
    /// To answer a refusal your own way, take `Result<Webhook, WebhookRejection>`:
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use runhook_axum::{Webhook, WebhookRejection};
    ///
    /// async fn hook(webhook: Result<Webhook, WebhookRejection>) -> (StatusCode, String) {
    ///     match webhook {
    ///         Ok(Webhook(event)) => (StatusCode::OK, event.name().to_owned()),
    ///         Err(refused) => (refused.status(), refused.to_string()),
    ///     }
    /// }
    /// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(hook));
    /// ```
    Webhook;
    /// Why [`Webhook`](crate::Webhook) refused a request: a [`Refusal`] (the core's rejection, 405,
    /// 413, 401, 415 or 400; or a body that did not arrive in time or did not fit the body budget,
    /// 503), answered with its status code, its headers (`Allow: POST` for a 405, `Retry-After`
    /// where it helps) and the JSON body every runhook receiver sends, e.g.
    /// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
    ///
    /// To answer differently, extract `Result<Webhook, WebhookRejection>`.
    WebhookRejection;
}

impl<S> FromRequest<S> for Webhook
where
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, WebhookRejection> {
        let (parts, body) = request.into_parts();
        let checks = WebhookChecks::find(&parts.extensions);
        checks
            .check(&parts.method, &parts.uri, &parts.headers, body)
            .await
            .map(Webhook)
            .map_err(WebhookRejection)
    }
}
