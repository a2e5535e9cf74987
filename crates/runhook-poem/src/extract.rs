//! [`Webhook`]: a validated event, extracted from the raw request.

use poem::error::ReadBodyError;
use poem::{FromRequest, Request, RequestBody};
use std::ops::Deref;

use runhook::Event;
use runhook::receive::{Rejection, RejectionKind, RequestChecks, check_method};

use crate::WebhookRejection;

/// A webhook that passed every check of [`runhook::receive()`]: method, size, authenticator,
/// content type and body, read as raw bytes up to the limit.
///
/// The configuration is the [`RequestChecks`] in the request's data (add it with
/// `EndpointExt::data`), or the default one (8 MiB body limit, no authentication). A refused
/// request is answered by [`WebhookRejection`] with the core's status and reason.
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
        let default;
        let config = match request.data::<RequestChecks>() {
            Some(config) => config,
            None => {
                default = RequestChecks::default();
                &default
            }
        };
        check_method(request.method()).map_err(WebhookRejection::from)?;
        let limit = config.limits.max_body_bytes;
        let body = match body.take()?.into_bytes_limit(limit).await {
            Ok(body) => body,
            Err(ReadBodyError::PayloadTooLarge) => {
                return Err(
                    WebhookRejection::from(Rejection::payload_too_large(None, limit)).into(),
                );
            }
            Err(error @ ReadBodyError::BodyHasBeenTaken) => return Err(error.into()),
            Err(error) => {
                let reason = format!("the request body could not be read: {error}");
                return Err(WebhookRejection::from(Rejection::new(
                    RejectionKind::MalformedJson,
                    reason,
                ))
                .into());
            }
        };
        runhook::receive(
            request.method(),
            request.uri(),
            request.headers(),
            &body,
            config,
        )
        .into_result()
        .map(Webhook)
        .map_err(|rejection| WebhookRejection::from(rejection).into())
    }
}
