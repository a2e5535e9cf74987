//! The `Webhook` extractor and `WebhookRejection`, in process (`poem::test`), and the route over
//! a raw chunked HTTP/1.1 request.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use poem::http::{HeaderMap, Method, StatusCode};
use poem::listener::TcpAcceptor;
use poem::test::TestClient;
use poem::{Endpoint, EndpointExt, Route, Server, handler};
use runhook::HandlerOutcome;
use runhook::receive::{Rejection, RequestChecks, Verdict, receive};
use runhook_poem::{Webhook, WebhookRejection, webhook_route};
use runhook_receiver::{Receiver, handler_fn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const COMPLETED: &str = r#"{"event":"run.completed","run_id":"run-1","status":"COMPLETED","data":{"result":{"product_name":"Example Product","price":29.99}}}"#;

/// A handler that uses the extracted event directly, on every method.
#[handler]
async fn hook(Webhook(event): Webhook) -> String {
    format!("{} {}", event.name(), event.run_id().unwrap())
}

fn app() -> impl Endpoint {
    Route::new().at("/hook", hook)
}

/// The rejection the core gives for a POST of `body` with `content_type`.
fn core_rejection(content_type: &str, body: &str) -> Rejection {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    match receive(
        &Method::POST,
        &poem::http::Uri::from_static("/"),
        &headers,
        body.as_bytes(),
        &RequestChecks::default(),
    ) {
        Verdict::Reject(rejection) => rejection,
        Verdict::Accept(event) => panic!("accepted: {event:?}"),
    }
}

#[tokio::test]
async fn a_valid_webhook_reaches_the_handler_as_an_event() {
    let client = TestClient::new(app());
    let response = client
        .post("/hook")
        .content_type("application/json")
        .body(COMPLETED)
        .send()
        .await;
    response.assert_status_is_ok();
    response.assert_text("run.completed run-1").await;
}

#[tokio::test]
async fn refusals_carry_the_core_status_and_reason() {
    let client = TestClient::new(app());
    for (content_type, body, status) in [
        ("text/plain", COMPLETED, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("application/json", "not json", StatusCode::BAD_REQUEST),
        (
            "application/json",
            r#"{"event":"run.completed","event":"run.failed"}"#,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let response = client
            .post("/hook")
            .content_type(content_type)
            .body(body)
            .send()
            .await;
        response.assert_status(status);
        response.assert_content_type("application/json");
        let expected = core_rejection(content_type, body);
        let answer = response.json().await;
        let answer = answer.value().object();
        answer.get("outcome").assert_string("invalid");
        answer.get("kind").assert_string(expected.kind.as_str());
        answer.get("reason").assert_string(&expected.reason);
    }
}

#[tokio::test]
async fn another_method_gets_405_with_allow_post() {
    let client = TestClient::new(app());
    let response = client.get("/hook").send().await;
    response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    response.assert_header("allow", "POST");
}

#[tokio::test]
async fn the_configuration_comes_from_the_request_data() {
    let small = RequestChecks::default().with_max_body_bytes(64);
    let client = TestClient::new(app().data(small));
    let response = client
        .post("/hook")
        .content_type("application/json")
        .body(COMPLETED)
        .send()
        .await;
    response.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    let answer = response.json().await;
    let answer = answer.value().object();
    answer.get("kind").assert_string("payload_too_large");
    assert!(answer.get("reason").string().contains("at most 64 bytes"));
}

/// A chunked body (no `Content-Length`) is read by the receiver up to its limit and accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_accepts_a_chunked_body_without_content_length() {
    let receiver = Receiver::new(handler_fn(|_event| async { HandlerOutcome::Ok }));
    let app = Route::new().at("/hook", webhook_route(receiver));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TcpAcceptor::from_tokio(listener).unwrap();
    let server = tokio::spawn(Server::new_with_acceptor(acceptor).run(app));

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

/// A handler answering refusals its own way finds the rejection in the error.
#[handler]
async fn own_answer(webhook: poem::Result<Webhook>) -> (StatusCode, String) {
    match webhook {
        Ok(webhook) => (StatusCode::OK, webhook.name().to_owned()),
        Err(error) => {
            let rejection = error.downcast_ref::<WebhookRejection>().unwrap();
            (
                StatusCode::IM_A_TEAPOT,
                rejection.rejection().unwrap().kind.to_string(),
            )
        }
    }
}

#[tokio::test]
async fn the_rejection_can_be_found_in_the_error() {
    let client = TestClient::new(Route::new().at("/hook", own_answer));
    let response = client
        .post("/hook")
        .content_type("text/plain")
        .body(COMPLETED)
        .send()
        .await;
    response.assert_status(StatusCode::IM_A_TEAPOT);
    response.assert_text("unsupported_media_type").await;
}
