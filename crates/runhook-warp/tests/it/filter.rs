//! The `webhook()` filter and `recover`, in process (`warp::test`), and the route over a raw
//! chunked HTTP/1.1 request.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use runhook::HandlerOutcome;
use runhook::receive::{Rejection, RequestChecks, Verdict, receive};
use runhook_receiver::{Receiver, handler_fn};
use runhook_warp::{Webhook, WebhookRejection, recover, webhook, webhook_route, webhook_with};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};

const COMPLETED: &str = r#"{"event":"run.completed","run_id":"run-1","status":"COMPLETED","data":{"result":{"product_name":"Example Product","price":29.99}}}"#;

/// A handler that uses the extracted event directly.
fn app(
    filter: impl Filter<Extract = (Webhook,), Error = warp::Rejection> + Clone + Send + Sync + 'static,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("hook")
        .and(filter)
        .map(|Webhook(event): Webhook| format!("{} {}", event.name(), event.run_id().unwrap()))
        .recover(recover)
}

/// The rejection the core gives for a POST of `body` with `content_type`.
fn core_rejection(content_type: &str, body: &str) -> Rejection {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    match receive(
        &Method::POST,
        &warp::http::Uri::from_static("/"),
        &headers,
        body.as_bytes(),
        &RequestChecks::default(),
    ) {
        Verdict::Reject(rejection) => rejection,
        Verdict::Accept(event) => panic!("accepted: {event:?}"),
    }
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn a_valid_webhook_reaches_the_handler_as_an_event() {
    let response = warp::test::request()
        .method("POST")
        .path("/hook")
        .header("content-type", "application/json")
        .body(COMPLETED)
        .reply(&app(webhook()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "run.completed run-1");
}

#[tokio::test]
async fn refusals_carry_the_core_status_and_reason() {
    for (content_type, body, status) in [
        ("text/plain", COMPLETED, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", "not json", StatusCode::BAD_REQUEST),
        (
            "application/json",
            r#"{"event":"run.completed","event":"run.failed"}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = warp::test::request()
            .method("POST")
            .path("/hook")
            .header("content-type", content_type)
            .body(body)
            .reply(&app(webhook()))
            .await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let expected = core_rejection(content_type, body);
        let answer = json(response.body());
        assert_eq!(answer["outcome"], "invalid");
        assert_eq!(answer["kind"], expected.kind.as_str());
        assert_eq!(answer["reason"], expected.reason.as_str());
    }
}

#[tokio::test]
async fn another_method_gets_405_with_allow_post() {
    let response = warp::test::request()
        .method("GET")
        .path("/hook")
        .reply(&app(webhook()))
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let small = webhook_with(RequestChecks::default().with_max_body_bytes(64));
    let response = warp::test::request()
        .method("POST")
        .path("/hook")
        .header("content-type", "application/json")
        .body(COMPLETED)
        .reply(&app(small))
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        std::str::from_utf8(response.body())
            .unwrap()
            .contains("at most 64 bytes")
    );
}

#[tokio::test]
async fn the_rejection_is_findable_and_other_rejections_pass_through_recover() {
    let rejection = warp::test::request()
        .method("POST")
        .path("/hook")
        .header("content-type", "text/plain")
        .body(COMPLETED)
        .filter(&webhook())
        .await
        .unwrap_err();
    let found = rejection.find::<WebhookRejection>().unwrap();
    assert_eq!(found.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        found.rejection(),
        Some(&core_rejection("text/plain", COMPLETED))
    );

    let response = warp::test::request()
        .method("POST")
        .path("/elsewhere")
        .reply(&app(webhook()))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// warp's `content_length_limit` would answer a chunked request 411, a 4xx that a TinyFish
/// sender never retries; the route reads the body itself, up to the receiver's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_accepts_a_chunked_body_without_content_length() {
    let receiver = Receiver::new(handler_fn(|_event| async { HandlerOutcome::Ok }));
    let routes = warp::path!("hook").and(webhook_route(receiver));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(warp::serve(routes).incoming(listener).run());

    let (head, tail) = COMPLETED.split_at(40);
    let request = format!(
        "POST /hook HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         {:x}\r\n{head}\r\n{:x}\r\n{tail}\r\n0\r\n\r\n",
        head.len(),
        tail.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""outcome":"accepted""#), "{response}");
    server.abort();
}
