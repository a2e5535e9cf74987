//! The response a receiver hands back to the adapter.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use runhook::ReceiveOutcome;
use runhook::outcome::{Disposition, decide};
use runhook::receive::Rejection;

/// An HTTP response, framework-agnostic: the adapter copies status, headers and body into its
/// own response type (or calls [`WebhookResponse::into_http`]).
///
/// The body is a short JSON object: `outcome` (`accepted`, `duplicate`, `in_flight`, …),
/// `reason` in words, and where known `run_id`, `event`, `kind` (of a rejection) and `pointer`
/// (the JSON pointer of a body problem).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookResponse {
    /// The status code.
    pub status: u16,
    /// Headers: `Content-Type: application/json`, and `Allow` or `Retry-After` where they apply.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Bytes,
    /// How the delivery ended (the body's `outcome`).
    pub outcome: ReceiveOutcome,
}

impl WebhookResponse {
    /// Builds the response: `status`, the headers, and the JSON body of `outcome`, `reason` and
    /// where known `run_id`, `event` and the rejection's `kind` and `pointer`.
    ///
    pub(crate) fn build(
        status: u16,
        outcome: ReceiveOutcome,
        reason: &str,
        run_id: Option<&str>,
        event: Option<&str>,
        retry_after: Option<u64>,
        rejection: Option<&Rejection>,
    ) -> Self {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(seconds) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(rejection) = rejection {
            for (name, value) in rejection.headers() {
                headers.insert(name, value);
            }
        }
        let fields = Fields {
            event,
            kind: rejection.map(|rejection| rejection.kind.as_str()),
            outcome: outcome.as_str(),
            pointer: rejection.and_then(|rejection| rejection.pointer.as_deref()),
            reason,
            run_id,
        };
        WebhookResponse {
            status,
            headers,
            body: Bytes::from(fields.to_json().unwrap_or_default()),
            outcome,
        }
    }

    /// The response to a request the core refused (docs/protocol.md §4.3): its status, its headers
    /// (`Allow: POST` for a 405) and the JSON body every runhook receiver sends, with `outcome`
    /// `invalid`, the rejection's `kind`, `pointer` and `reason`. Adapters' extractors answer with
    /// it, so a refusal looks the same whichever way it was found.
    pub fn from_rejection(rejection: &Rejection) -> Self {
        let decision = decide(&Disposition::Invalid(rejection));
        Self::build(
            decision.status,
            decision.outcome,
            &rejection.reason,
            None,
            None,
            decision.retry_after,
            Some(rejection),
        )
    }

    /// The 503 for a body that was not read whole (it did not arrive within the body timeout,
    /// or the body budget was spent), with `Retry-After` if `retry_after` is given, and
    /// `Connection: close`, since the rest of the body is still unread.
    pub fn body_unread(retry_after: Option<Duration>) -> Self {
        let decision = decide(&Disposition::BodyUnread { retry_after });
        Self::build(
            decision.status,
            decision.outcome,
            decision.outcome.public_reason(),
            None,
            None,
            decision.retry_after,
            None,
        )
        .closing()
    }

    /// This response with `Connection: close`: the request's body was not read whole, so the
    /// connection cannot carry another request. (HTTP/2 servers drop the header and reset the
    /// stream instead.)
    pub(crate) fn closing(mut self) -> Self {
        self.headers
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        self
    }

    /// The status as an [`http::StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The response as an `http::Response`, for frameworks built on the `http` crate.
    pub fn into_http(self) -> http::Response<Bytes> {
        let status = self.status_code();
        let mut response = http::Response::new(self.body);
        *response.status_mut() = status;
        *response.headers_mut() = self.headers;
        response
    }
}

/// The fields of a response body, in sorted order (as `serde_json` writes a map's keys), the
/// absent ones left out.
#[derive(serde::Serialize)]
struct Fields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    outcome: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
}

impl Fields<'_> {
    /// The compact JSON object of the fields that are present.
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Map, Value};

    use super::*;
    use runhook::receive::RejectionKind;

    /// The body as it was built before: a `serde_json` object, serialized.
    fn through_value(fields: &Fields<'_>) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("outcome".into(), fields.outcome.into());
        body.insert("reason".into(), fields.reason.into());
        for (name, value) in [
            ("run_id", fields.run_id),
            ("event", fields.event),
            ("kind", fields.kind),
            ("pointer", fields.pointer),
        ] {
            if let Some(value) = value {
                body.insert(name.into(), value.into());
            }
        }
        serde_json::to_vec(&Value::Object(body)).unwrap()
    }

    #[test]
    fn the_body_is_what_serializing_the_object_gives() {
        let awkward = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} \
                       é 日本 🦀 </script> \u{2028}";
        for event in [None, Some("run.completed"), Some(awkward)] {
            for kind in [None, Some("malformed_json")] {
                for pointer in [None, Some(""), Some("/data/result/a~1b")] {
                    for run_id in [None, Some("r1"), Some(awkward)] {
                        for reason in ["processed", "", awkward] {
                            let fields = Fields {
                                event,
                                kind,
                                outcome: "accepted",
                                pointer,
                                reason,
                                run_id,
                            };
                            assert_eq!(
                                fields.to_json().unwrap(),
                                through_value(&fields),
                                "{reason:?} {run_id:?} {event:?} {kind:?} {pointer:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_rejection_adds_its_kind_pointer_and_headers() {
        let rejection = Rejection::method_not_allowed(&http::Method::GET);
        let response = WebhookResponse::build(
            rejection.status,
            ReceiveOutcome::Invalid,
            &rejection.reason,
            None,
            None,
            None,
            Some(&rejection),
        );
        assert_eq!(response.status, 405);
        assert_eq!(response.headers[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers[http::header::ALLOW], "POST");
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["kind"], RejectionKind::MethodNotAllowed.as_str());
        assert_eq!(body["outcome"], "invalid");

        let response = WebhookResponse::build(
            503,
            ReceiveOutcome::InFlight,
            "busy",
            Some("r1"),
            Some("run.completed"),
            Some(7),
            None,
        );
        assert_eq!(response.headers[RETRY_AFTER], "7");
        assert_eq!(
            &response.body[..],
            br#"{"event":"run.completed","outcome":"in_flight","reason":"busy","run_id":"r1"}"#
        );
    }
}
