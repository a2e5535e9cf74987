//! The conformance suite against a minimal hyper server, so the suite itself is proven before any
//! adapter exists. This is also the shape of an adapter's conformance test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use runhook_receiver::Receiver;
use runhook_receiver::testing::{HttpIntegration, TestServer, case_names, run_conformance_suite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Serves the receiver at `/webhook` with nothing but hyper.
struct PlainHyper;

async fn serve(receiver: Receiver, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/webhook" {
        let mut response = Response::new(Full::new(Bytes::from_static(b"not found")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    let (parts, body) = request.into_parts();
    receiver
        .receive_body(&parts.method, &parts.uri, &parts.headers, body)
        .await
        .into_http()
        .map(Full::new)
}

impl HttpIntegration for PlainHyper {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhook", listener.local_addr()?);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let receiver = receiver.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |request| {
                                let receiver = receiver.clone();
                                async move { Ok::<_, Infallible>(serve(receiver, request).await) }
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(TestServer::new(url, stop, task))
    }
}

/// An adapter with a classic bug: it answers every request as if it were a POST.
struct IgnoresTheMethod;

impl HttpIntegration for IgnoresTheMethod {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhook", listener.local_addr()?);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let receiver = receiver.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |request: Request<Incoming>| {
                                let receiver = receiver.clone();
                                async move {
                                    let (parts, body) = request.into_parts();
                                    let response = receiver
                                        .receive_body(&http::Method::POST, &parts.uri, &parts.headers, body)
                                        .await;
                                    Ok::<_, Infallible>(response.into_http().map(Full::new))
                                }
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(TestServer::new(url, stop, task))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "method-put")]
async fn the_suite_catches_an_adapter_that_ignores_the_method() {
    run_conformance_suite::<IgnoresTheMethod>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_hyper_passes_the_conformance_suite() {
    run_conformance_suite::<PlainHyper>().await;
}

#[test]
fn the_table_has_at_least_thirty_distinct_cases() {
    let names = case_names();
    assert!(names.len() >= 30, "{} cases", names.len());
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "case names must be unique");
}
