//! [`Webhook`]: a validated event, extracted from the raw request.

use std::ops::Deref;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use poem::{FromRequest, Request, RequestBody};
use runhook::Event;
use runhook_receiver::WebhookChecks;

use crate::WebhookRejection;

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
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook(pub Event);

impl Webhook {
    /// The event.
    pub fn into_inner(self) -> Event {
        self.0
    }
}

impl Deref for Webhook {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.0
    }
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
