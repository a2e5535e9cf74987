//! [`Webhook`]: a validated event, extracted from the raw request.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use poem::{FromRequest, Request, RequestBody};
use runhook_receiver::WebhookChecks;

runhook_receiver::webhook_types! {
    /// A webhook that passed every check, in the order every runhook adapter's `Webhook` follows:
    /// the method first (405, before any of the body is read), then the raw body, read with the
    /// body limit (413), the body timeout and the process's body budget (503), never re-encoded,
    /// then [`runhook::receive()`] (401, 415, 400).
    ///
    /// The settings are the [`WebhookChecks`] in the request's data (add them with
    /// `EndpointExt::data`; a [`RequestChecks`](runhook::receive::RequestChecks) there works too),
    /// or the defaults: 8 MiB body limit, no authentication, 10 s body timeout, the global body
    /// budget. A refused request is answered by [`WebhookRejection`] with its status and the JSON
    /// body every runhook receiver sends.
    ///
    /// The event is not deduplicated: a handler using it directly sees every delivery, retries
    /// included. [`webhook_route`](crate::webhook_route) deduplicates.
    ///
    /// ```
    /// use poem::{Route, handler, post};
    /// use runhook_poem::Webhook;
    ///
    /// #[handler]
    /// async fn hook(Webhook(event): Webhook) -> String {
    ///     format!("got {}", event.name())
    /// }
    ///
    /// let app = Route::new().at("/webhooks/tinyfish", post(hook));
    /// # let _ = app;
    /// ```
    Webhook;
    /// Why the [`Webhook`](crate::Webhook) extractor refused a request: a [`Refusal`] (the core's
    /// rejection, 405, 413, 401, 415 or 400; or a body that did not arrive in time or did not fit
    /// the body budget, 503). As a [`ResponseError`] it answers with its status code, its headers
    /// (`Allow: POST` for a 405, `Retry-After` where it helps) and the JSON body every runhook
    /// receiver sends, e.g. `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
    ///
    /// To answer differently, take `poem::Result<Webhook>` in the handler and find it with
    /// `error.downcast_ref::<WebhookRejection>()`, or use `EndpointExt::catch_error`.
    WebhookRejection;
}

impl<'a> FromRequest<'a> for Webhook {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let checks = WebhookChecks::find(request.extensions());
        let body: BoxBody<Bytes, std::io::Error> = body.take()?.into();
        checks
            .check(request.method(), request.uri(), request.headers(), body)
            .await
            .map(Webhook)
            .map_err(|refusal| WebhookRejection(refusal).into())
    }
}
