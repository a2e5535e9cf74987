//! The `Webhook` extractor: the default rejection, a custom rejection type, the body limit from a
//! request extension, raw bytes, and a round trip over real HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use axum::Extension;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use runhook::Event;
use runhook::receive::{AuthError, Authenticator, RejectionKind, RequestChecks};
use runhook_axum::{Webhook, WebhookRejection};
use serde_json::{Value, json};

fn documented() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/valid/01-docs-run-completed.json");
    std::fs::read(path).unwrap()
}

fn build(method: Method, content_type: Option<&str>, body: impl Into<Body>) -> Request {
    let mut builder = Request::builder().method(method).uri("/webhook");
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).unwrap()
}

async fn body_text(response: Response) -> String {
    String::from_utf8(
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

/// A rejection of the application's own: plain text, and a header naming the kind.
#[derive(Debug)]
struct PlainText {
    status: StatusCode,
    kind: Option<RejectionKind>,
    reason: String,
}

impl From<WebhookRejection> for PlainText {
    fn from(rejection: WebhookRejection) -> Self {
        PlainText {
            status: rejection.status(),
            kind: rejection.rejection().map(|rejection| rejection.kind),
            reason: rejection.to_string(),
        }
    }
}

impl IntoResponse for PlainText {
    fn into_response(self) -> Response {
        (
            self.status,
            [(
                "x-rejection",
                self.kind.map_or("body_unread", RejectionKind::as_str),
            )],
            format!("no: {}", self.reason),
        )
            .into_response()
    }
}

#[tokio::test]
async fn a_valid_webhook_is_extracted_typed() {
    let request = build(Method::POST, Some("application/json"), documented());
    let webhook = Webhook::from_request(request, &()).await.unwrap();
    assert_eq!(webhook.name(), "run.completed");
    let Event::Completed(run) = webhook.into_inner() else {
        panic!("not a completed run")
    };
    assert_eq!(run.run_id.as_str(), "4562765d-156e-4c47-b217-55b3ec4a9720");
}

#[tokio::test]
async fn the_default_rejection_carries_the_core_status_and_reason_as_json() {
    let request = build(Method::POST, Some("text/plain"), documented());
    let rejection = Webhook::from_request(request, &()).await.unwrap_err();
    assert_eq!(rejection.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        rejection.rejection().unwrap().kind,
        RejectionKind::UnsupportedMediaType
    );
    let response = rejection.clone().into_response();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = serde_json::from_str(&body_text(response).await).unwrap();
    assert_eq!(body["outcome"], "invalid");
    assert_eq!(body["kind"], "unsupported_media_type");
    assert_eq!(
        body["reason"],
        rejection.rejection().unwrap().reason.as_str()
    );

    let get = build(Method::GET, Some("application/json"), Body::empty());
    let response = Webhook::from_request(get, &())
        .await
        .unwrap_err()
        .into_response();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
}

#[tokio::test]
async fn a_custom_rejection_type_replaces_the_response() {
    let malformed = build(Method::POST, Some("application/json"), "{\"event\":");
    let rejection = Webhook::from_request(malformed, &())
        .await
        .map_err(PlainText::from)
        .unwrap_err();
    assert_eq!(rejection.kind, Some(RejectionKind::MalformedJson));
    let response = rejection.into_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["x-rejection"], "malformed_json");
    assert!(
        body_text(response).await.starts_with("no: "),
        "plain text, not the default JSON"
    );

    let mismatch =
        json!({"event": "run.completed", "run_id": "r1", "status": "FAILED", "data": {}});
    let request = build(Method::POST, Some("application/json"), mismatch.to_string());
    let rejection = Webhook::from_request(request, &())
        .await
        .map_err(PlainText::from)
        .unwrap_err();
    assert_eq!(rejection.status, StatusCode::BAD_REQUEST);
    assert_eq!(rejection.kind, Some(RejectionKind::InconsistentEvent));
}

#[tokio::test]
async fn the_body_limit_comes_from_the_receive_config_extension() {
    let config = RequestChecks::default().with_max_body_bytes(64);
    let mut big = build(Method::POST, Some("application/json"), documented());
    big.extensions_mut().insert(config.clone());
    let rejection = Webhook::from_request(big, &())
        .await
        .map_err(PlainText::from)
        .unwrap_err();
    assert_eq!(rejection.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        rejection.reason.contains("64 bytes"),
        "{}",
        rejection.reason
    );

    // The method is checked first, as the core orders its checks.
    let mut get = build(Method::GET, Some("application/json"), documented());
    get.extensions_mut().insert(config.clone());
    let rejection = Webhook::from_request(get, &())
        .await
        .map_err(PlainText::from)
        .unwrap_err();
    assert_eq!(rejection.status, StatusCode::METHOD_NOT_ALLOWED);

    // Without the extension, the default limit (8 MiB) lets the documented payload through.
    let small = build(Method::POST, Some("application/json"), documented());
    assert!(Webhook::from_request(small, &()).await.is_ok());
}

/// Accepts only one exact byte sequence: proves the core saw the raw body, not a re-encoding.
#[derive(Debug)]
struct ExactBytes(Vec<u8>);

impl Authenticator for ExactBytes {
    fn verify(
        &self,
        _uri: &axum::http::Uri,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), AuthError> {
        if body == self.0.as_slice() {
            Ok(())
        } else {
            Err(AuthError::Invalid {
                reason: "the body is not the bytes that were sent".to_owned(),
            })
        }
    }
}

#[tokio::test]
async fn the_core_sees_the_raw_body_bytes() {
    // Odd spacing, an escaped non-ASCII character and a float that re-encodes differently.
    let raw = b"{ \"event\" : \"run.completed\",\n \"run_id\":\"r-1\", \"status\":\"COMPLETED\",\
                \"data\":{\"result\":{\"name\":\"caf\\u00e9\",\"price\":1.50e1}} }"
        .to_vec();
    let mut request = build(Method::POST, Some("application/json"), raw.clone());
    request
        .extensions_mut()
        .insert(RequestChecks::default().with_authenticator(ExactBytes(raw)));
    let webhook = Webhook::from_request(request, &())
        .await
        .map_err(PlainText::from)
        .unwrap();
    assert_eq!(webhook.run_id(), Some("r-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_the_extractor_and_a_custom_rejection_work_in_a_router() {
    async fn hook(webhook: Result<Webhook, WebhookRejection>) -> Result<String, PlainText> {
        let Webhook(event) = webhook.map_err(PlainText::from)?;
        Ok(json!({"run_id": event.run_id(), "event": event.name()}).to_string())
    }
    let app = axum::Router::new()
        .route("/webhook", post(hook))
        .layer(Extension(
            RequestChecks::default().with_max_body_bytes(4096),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { runhook_axum::serve(listener, app).await.unwrap() });

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let accepted = client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body(documented())
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    let body: Value = serde_json::from_slice(&accepted.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"run_id": "4562765d-156e-4c47-b217-55b3ec4a9720", "event": "run.completed"})
    );

    let refused = client
        .post(&url)
        .header(CONTENT_TYPE, "application/xml")
        .body("<run/>")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    assert_eq!(refused.headers()["x-rejection"], "unsupported_media_type");
    assert!(refused.text().await.unwrap().starts_with("no: "));

    let too_big = client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body(vec![b' '; 8192])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    server.abort();
}
