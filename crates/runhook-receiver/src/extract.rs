//! What the adapters' `Webhook` extractors share: their settings ([`WebhookChecks`]), the one
//! order of checks ([`WebhookChecks::check`]) and the refusal it ends in ([`Refusal`]).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::{Extensions, HeaderMap, Method, StatusCode, Uri};
use http_body::Body;
use runhook::Event;
use runhook::receive::{Rejection, RejectionKind, RequestChecks, check_method};

use crate::body::{BodyLimits, Collected, collect};
use crate::{BodyBudget, ReceiverConfig, WebhookResponse};

/// How a `Webhook` extractor (`runhook_axum::Webhook`, `runhook_poem::Webhook`,
/// `runhook_warp::webhook`) reads and checks a request: the checks of [`runhook::receive()`],
/// and the body timeout and body budget of [`read_body`](crate::read_body), with the same
/// defaults as a [`Receiver`](crate::Receiver)'s (8 MiB, 10 s, [`BodyBudget::global`]).
///
/// Start from `WebhookChecks::default()` or `WebhookChecks::from(request_checks)` and assign
/// the fields that differ. axum and poem extractors find it in the request's extensions (axum:
/// `.layer(axum::Extension(checks))`; poem: `.data(checks)`); a plain [`RequestChecks`] there
/// is used with the default body timeout and budget.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookChecks {
    /// Body limit, content types, strictness and authenticator.
    pub checks: RequestChecks,
    /// How long the body may take to arrive; a slower one gets 503.
    pub body_timeout: Duration,
    /// The budget of buffered body bytes the body is charged to; a body that does not fit gets
    /// 503 with `Retry-After`.
    pub body_budget: BodyBudget,
}

impl WebhookChecks {
    /// The settings in `extensions`: a [`WebhookChecks`], else a [`RequestChecks`] with the
    /// default body timeout and budget, else the defaults.
    pub fn find(extensions: &Extensions) -> Cow<'_, WebhookChecks> {
        if let Some(checks) = extensions.get::<WebhookChecks>() {
            return Cow::Borrowed(checks);
        }
        let checks = extensions.get::<RequestChecks>().cloned();
        Cow::Owned(checks.map(WebhookChecks::from).unwrap_or_default())
    }

    /// Checks one request, in the one order every adapter's extractor follows: the method (405,
    /// before any of the body is read), then the body read within the limit, the body timeout
    /// and the budget (413, or 503 for a body that did not arrive in time or did not fit), then
    /// [`runhook::receive()`] on the raw bytes (401, 415, 400).
    pub async fn check<B>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: B,
    ) -> Result<Event, Refusal>
    where
        B: Body,
        B::Error: fmt::Display,
    {
        check_method(method)?;
        let max_bytes = self.checks.limits.max_body_bytes;
        let limits = BodyLimits::new(max_bytes, self.body_timeout, &self.body_budget);
        let body = match collect(headers, body, limits).await {
            Collected::Complete(body, _charge) => body,
            Collected::TooLarge(len) => {
                return Err(Rejection::payload_too_large(len, max_bytes).into());
            }
            Collected::Failed(error) => {
                let reason = format!("the request body could not be read: {error}");
                return Err(Rejection::new(RejectionKind::MalformedJson, reason).into());
            }
            Collected::TimedOut => {
                return Err(Refusal::Unread {
                    reason: format!(
                        "the body did not arrive within the body timeout of {:?}",
                        self.body_timeout
                    ),
                    retry_after: None,
                });
            }
            Collected::OverBudget => {
                return Err(Refusal::Unread {
                    reason: format!(
                        "the body budget ({} bytes) is spent by requests in progress; the body \
                         was not read, retry later",
                        self.body_budget.capacity()
                    ),
                    retry_after: Some(Duration::from_secs(1)),
                });
            }
        };
        Ok(runhook::receive(method, uri, headers, &body, &self.checks).into_result()?)
    }
}

impl Default for WebhookChecks {
    fn default() -> Self {
        WebhookChecks::from(RequestChecks::default())
    }
}

impl From<RequestChecks> for WebhookChecks {
    fn from(checks: RequestChecks) -> Self {
        WebhookChecks {
            checks,
            body_timeout: ReceiverConfig::DEFAULT_BODY_TIMEOUT,
            body_budget: BodyBudget::global(),
        }
    }
}

/// Why a `Webhook` extractor refused a request. Each adapter's `WebhookRejection` wraps it and
/// answers with [`Refusal::response`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The core refused the request (405, 413, 401, 415 or 400): a sender does not retry it.
    #[error(transparent)]
    Rejected(Rejection),
    /// The body was not read whole: it did not arrive within the body timeout, or the body
    /// budget was spent (503, which a sender retries; the connection is closed).
    #[error("{reason}")]
    Unread {
        /// What happened, in words.
        reason: String,
        /// When to come back, if known (sent as `Retry-After`).
        retry_after: Option<Duration>,
    },
}

impl Refusal {
    /// The core's rejection, for a request the core refused.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Refusal::Rejected(rejection) => Some(rejection),
            Refusal::Unread { .. } => None,
        }
    }

    /// The status code to answer with.
    pub fn status(&self) -> StatusCode {
        self.response().status_code()
    }

    /// The response: status, headers and the JSON body every runhook receiver sends, e.g.
    /// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
    pub fn response(&self) -> WebhookResponse {
        match self {
            Refusal::Rejected(rejection) => WebhookResponse::from_rejection(rejection),
            Refusal::Unread { retry_after, .. } => WebhookResponse::body_unread(*retry_after),
        }
    }
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal::Rejected(rejection)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bytes::Bytes;
    use http::header::CONTENT_TYPE;
    use http_body_util::Full;

    use super::*;

    fn json_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn the_method_is_checked_before_the_body_is_read() {
        let checks = WebhookChecks {
            body_budget: BodyBudget::new(0),
            ..WebhookChecks::default()
        };
        let uri = Uri::from_static("/");
        let body = Full::new(Bytes::from_static(b"{}"));
        let refusal = checks
            .check(&Method::GET, &uri, &json_headers(), body.clone())
            .await
            .unwrap_err();
        assert_eq!(refusal.status(), StatusCode::METHOD_NOT_ALLOWED);
        let refusal = checks
            .check(&Method::POST, &uri, &json_headers(), body)
            .await
            .unwrap_err();
        assert_eq!(
            refusal.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{refusal}"
        );
        assert_eq!(refusal.response().headers[http::header::RETRY_AFTER], "1");
        assert!(refusal.rejection().is_none());
    }

    #[tokio::test]
    async fn the_settings_come_from_the_extensions() {
        let mut extensions = Extensions::new();
        assert_eq!(
            WebhookChecks::find(&extensions)
                .checks
                .limits
                .max_body_bytes,
            runhook::receive::Limits::DEFAULT_MAX_BODY_BYTES
        );
        extensions.insert(RequestChecks::default().with_max_body_bytes(5));
        assert_eq!(
            WebhookChecks::find(&extensions)
                .checks
                .limits
                .max_body_bytes,
            5
        );
        let checks = WebhookChecks::from(RequestChecks::default().with_max_body_bytes(7));
        extensions.insert(checks);
        assert_eq!(
            WebhookChecks::find(&extensions)
                .checks
                .limits
                .max_body_bytes,
            7
        );
    }
}
