//! Retries over real HTTP on 127.0.0.1, against a scripted axum stub (the emulator does not
//! answer 429 or 5xx on purpose): reads and idempotent writes are retried on 429, 5xx, network
//! errors and timeouts with `Retry-After` honoured; run creation never is.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use runhook::RetryPolicy;
use runhook::RunId;
use runhook::delivery::{NetworkErrorKind, StatusClass};
use runhook_tinyfish::{ApiErrorCode, Client, Error, RunRequest};

/// Answers the first `failures` requests with `status` (and `Retry-After: 1` for a 429), then
/// with `ok`; counts every request and the API key of the last one.
#[derive(Clone)]
struct Script {
    failures: usize,
    status: StatusCode,
    ok: &'static str,
    calls: Arc<AtomicUsize>,
}

impl Script {
    fn answer(&self, headers: &HeaderMap) -> Response {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(headers["x-api-key"], "test-key");
        if call >= self.failures {
            return ([("content-type", "application/json")], self.ok).into_response();
        }
        let code = match self.status.as_u16() {
            429 => "RATE_LIMIT_EXCEEDED",
            500 => "INTERNAL_ERROR",
            _ => "SERVICE_UNAVAILABLE",
        };
        let body = format!(r#"{{"error":{{"code":"{code}","message":"try later"}}}}"#);
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("retry-after", "1".parse().unwrap());
        }
        response
    }
}

const RUN: &str =
    r#"{"run_id":"r1","status":"COMPLETED","goal":"g","created_at":"2026-03-25T10:30:00Z"}"#;
const CANCELLED: &str =
    r#"{"run_id":"r1","status":"CANCELLED","cancelled_at":null,"message":"Run already cancelled"}"#;

async fn serve(script: Script) -> String {
    let (a, b, c) = (script.clone(), script.clone(), script);
    let app = Router::new()
        .route(
            "/v1/runs/{id}",
            get(move |h: HeaderMap| async move { a.answer(&h) }),
        )
        .route(
            "/v1/runs/{id}/cancel",
            post(move |h: HeaderMap| async move { b.answer(&h) }),
        )
        .route(
            "/v1/automation/run-async",
            post(move |h: HeaderMap| async move { c.answer(&h) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Three attempts, no scheduled wait, 429 retried, `Retry-After` honoured up to 50 ms.
fn quick_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .attempts(3)
        .schedule([Duration::ZERO, Duration::ZERO])
        .status(429, StatusClass::Retry)
        .honour_retry_after(Duration::from_millis(50))
        .build()
        .unwrap()
}

fn client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .api_key("test-key")
        .timeout(Duration::from_millis(500))
        .retry_policy(quick_policy())
        .build()
        .unwrap()
}

fn script(failures: usize, status: u16, ok: &'static str) -> Script {
    Script {
        failures,
        status: StatusCode::from_u16(status).unwrap(),
        ok,
        calls: Arc::new(AtomicUsize::new(0)),
    }
}

fn r1() -> RunId {
    RunId::new("r1").unwrap()
}

#[tokio::test]
async fn a_read_is_retried_through_5xx_and_succeeds() {
    let script = script(2, 503, RUN);
    let calls = Arc::clone(&script.calls);
    let client = client(&serve(script).await);
    let run = client.get_run(&r1()).await.unwrap();
    assert_eq!(run.goal.as_deref(), Some("g"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_then_gives_its_code() {
    let script = script(usize::MAX, 429, RUN);
    let calls = Arc::clone(&script.calls);
    let client = client(&serve(script).await);
    let started = Instant::now();
    let error = client.get_run(&r1()).await.unwrap_err();
    // Two waits of Retry-After (1 s, capped at 50 ms), not the schedule's zero.
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let api = error.api().expect("an API error");
    assert_eq!(
        (api.status, &api.code),
        (429, &ApiErrorCode::RateLimitExceeded)
    );
    assert_eq!(api.retry_after, Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn a_500_is_retried_then_reported_with_its_code() {
    let script = script(usize::MAX, 500, RUN);
    let calls = Arc::clone(&script.calls);
    let client = client(&serve(script).await);
    let error = client.get_run(&r1()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(error.api().unwrap().code, ApiErrorCode::InternalError);
    assert!(!error.is_unreachable());
}

#[tokio::test]
async fn a_cancel_is_retried_as_it_is_idempotent() {
    let script = script(1, 502, CANCELLED);
    let calls = Arc::clone(&script.calls);
    let client = client(&serve(script).await);
    let outcome = client.cancel_run(&r1()).await.unwrap();
    assert!(outcome.is_cancelled());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn run_creation_is_never_retried() {
    let script = script(usize::MAX, 503, r#"{"run_id":"r1","error":null}"#);
    let calls = Arc::clone(&script.calls);
    let client = client(&serve(script).await);
    let error = client
        .create_run_async(&RunRequest::new("https://example.com", "g"))
        .await
        .unwrap_err();
    assert_eq!(error.api().unwrap().status, 503);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_as_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client(&base).get_run(&r1()).await.unwrap_err();
    assert!(error.is_unreachable(), "{error}");
    assert!(
        matches!(
            error,
            Error::Network {
                kind: NetworkErrorKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_404_that_is_not_the_apis_defers_a_confirmation_instead_of_refuting_it() {
    use runhook_receiver::{ConfirmError, RunConfirmer};
    let app =
        Router::new().fallback(|| async { (StatusCode::NOT_FOUND, "<html>no such page</html>") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/wrong-prefix", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = client(&base).fetch(&r1()).await;
    assert!(
        matches!(answer, Err(ConfirmError::Refused(_))),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_silent_api_times_out_each_attempt() {
    let app = Router::new().route(
        "/v1/runs/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            RUN
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::builder()
        .base_url(&base)
        .api_key("test-key")
        .timeout(Duration::from_millis(100))
        .retry_policy(quick_policy())
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.get_run(&r1()).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(5),
        "three attempts of 100 ms: {elapsed:?}"
    );
}
