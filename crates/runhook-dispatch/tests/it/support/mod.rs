//! Local receivers on 127.0.0.1 with fault injection, and a throwaway TLS CA.
//!
//! Every server here binds to 127.0.0.1 with port 0 and runs on the test's runtime, so a test with
//! a paused clock sees the server's sleeps on the same virtual clock.

#![allow(dead_code, unreachable_pub, missing_docs)]
// Test helpers: a failed setup should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// Wait this long before sending the response head.
    pub delay: Duration,
    /// Send the body in two halves with this pause in between.
    pub body_pause: Option<Duration>,
    /// Ask the client to close the connection after this response.
    pub close: bool,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::from_static(b"{}"),
            delay: Duration::ZERO,
            body_pause: None,
            close: false,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn slow_body(mut self, pause: Duration) -> Self {
        self.body_pause = Some(pause);
        self
    }

    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }
}

/// One request the receiver saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A scripted HTTP receiver: the n-th request gets the n-th reply; the last reply repeats.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub tls: bool,
    received: Arc<Mutex<Vec<Received>>>,
    gauge: Arc<Mutex<Gauge>>,
}

/// Requests being answered now, and the most at once.
#[derive(Debug, Default)]
struct Gauge {
    now: usize,
    max: usize,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        Self::start_inner(script, None).await
    }

    /// HTTPS, offering HTTP/2 and HTTP/1.1.
    pub async fn start_tls(script: Vec<Reply>, ca: &TestCa) -> Receiver {
        Self::start_inner(script, Some(TlsAcceptor::from(ca.server_config(true)))).await
    }

    /// HTTPS, HTTP/1.1 only (so `Connection: close` closes the connection).
    pub async fn start_tls_h1(script: Vec<Reply>, ca: &TestCa) -> Receiver {
        Self::start_inner(script, Some(TlsAcceptor::from(ca.server_config(false)))).await
    }

    async fn start_inner(script: Vec<Reply>, tls: Option<TlsAcceptor>) -> Receiver {
        assert!(!script.is_empty(), "a receiver needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let gauge = Arc::new(Mutex::new(Gauge::default()));
        let receiver = Receiver {
            addr,
            tls: tls.is_some(),
            received: Arc::clone(&received),
            gauge: Arc::clone(&gauge),
        };
        let script = Arc::new(script);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                // Without TCP_NODELAY, Nagle holds back the second small TLS record until the
                // peer's (delayed) ACK: real time passes with nothing runnable, and a paused clock
                // jumps to the next timer, the attempt's deadline.
                stream.set_nodelay(true).unwrap();
                let script = Arc::clone(&script);
                let received = Arc::clone(&received);
                let gauge = Arc::clone(&gauge);
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(
                            request,
                            Arc::clone(&script),
                            Arc::clone(&received),
                            Arc::clone(&gauge),
                        )
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        receiver
    }

    /// `http://127.0.0.1:PORT/hook` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/hook", self.addr)
    }

    /// The same URL with `host` in place of the IP address.
    pub fn url_with_host(&self, host: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}/hook", self.addr.port())
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The most requests that were being answered at once.
    pub fn max_concurrent(&self) -> usize {
        self.gauge.lock().unwrap().max
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn handle(
    request: Request<Incoming>,
    script: Arc<Vec<Reply>>,
    received: Arc<Mutex<Vec<Received>>>,
    gauge: Arc<Mutex<Gauge>>,
) -> Result<Response<Body>, Infallible> {
    let at = Instant::now();
    {
        let mut gauge = gauge.lock().unwrap();
        gauge.now += 1;
        gauge.max = gauge.max.max(gauge.now);
    }
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let reply = {
        let mut received = received.lock().unwrap();
        received.push(Received {
            at,
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            body,
        });
        let index = (received.len() - 1).min(script.len() - 1);
        script[index].clone()
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    gauge.lock().unwrap().now -= 1;
    let body: Body = match reply.body_pause {
        None => Full::new(reply.body.clone()).boxed(),
        Some(pause) => {
            let half = reply.body.len() / 2;
            let (first, rest) = (reply.body.slice(..half), reply.body.slice(half..));
            let stream = futures_stream(first, pause, rest);
            StreamBody::new(stream).boxed()
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in &reply.headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    if reply.close {
        response
            .headers_mut()
            .insert("connection", "close".parse().unwrap());
    }
    Ok(response)
}

/// A body stream: `first`, a pause, then `rest`.
fn futures_stream(
    first: Bytes,
    pause: Duration,
    rest: Bytes,
) -> impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        let _ = tx.send(Ok(Frame::data(first))).await;
        tokio::time::sleep(pause).await;
        let _ = tx.send(Ok(Frame::data(rest))).await;
    });
    ReceiverStream(rx)
}

struct ReceiverStream<T>(tokio::sync::mpsc::Receiver<T>);

impl<T> futures::Stream for ReceiverStream<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

/// A server that reads the request head and then resets the connection (RST, via SO_LINGER 0).
pub async fn resetting_server() -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            *seen.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let mut read = Vec::new();
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream.set_zero_linger();
                drop(stream);
            });
        }
    });
    (addr, count)
}

/// A server that answers with raw bytes (for responses hyper will not produce).
pub async fn raw_server(response: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// What a [`head_then`] server does once it has sent its response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterHead {
    /// Sends nothing more and keeps the connection open until the client drops it.
    Stall,
    /// Waits a second (so the client has read the head) and resets the connection (RST).
    Reset,
}

/// A server that reads the request head, answers with `head` (raw bytes: a status line, headers
/// and perhaps the start of a body shorter than its `content-length`), then stalls or resets.
/// Counts the connections it accepts.
pub async fn head_then(head: &'static [u8], after: AfterHead) -> (SocketAddr, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            stream.set_nodelay(true).unwrap();
            *seen.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let mut read = Vec::new();
                while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read.extend_from_slice(&buffer[..n]),
                    }
                }
                if stream.write_all(head).await.is_err() {
                    return;
                }
                match after {
                    AfterHead::Stall => {
                        // Hold the connection (draining whatever the client sends) until the
                        // client gives up on it.
                        while let Ok(n) = stream.read(&mut buffer).await {
                            if n == 0 {
                                return;
                            }
                        }
                    }
                    AfterHead::Reset => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let _ = stream.set_zero_linger();
                        drop(stream);
                    }
                }
            });
        }
    });
    (addr, count)
}

/// A closed port on 127.0.0.1: bound, then released, so connecting is refused.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A throwaway certificate authority and a server certificate for `localhost`, 127.0.0.1 and the
/// made-up names the address tests resolve (`rebind.test`, `mixed.test`).
pub struct TestCa {
    pub ca_pem: String,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "runhook test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server_params = CertificateParams::new(
            ["localhost", "127.0.0.1", "rebind.test", "mixed.test"]
                .map(String::from)
                .to_vec(),
        )
        .unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone()],
            server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        }
    }

    pub fn server_config(&self, h2: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())
            .unwrap();
        config.alpn_protocols = if h2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Arc::new(config)
    }
}

/// Parses an IP address.
pub fn ip(text: &str) -> std::net::IpAddr {
    text.parse().unwrap()
}

/// [`local`], trusting only `ca`.
pub fn local_tls(ca: &TestCa) -> runhook_dispatch::DispatcherBuilder {
    local()
        .built_in_roots(false)
        .add_root_certificates_pem(ca.ca_pem.as_bytes())
        .unwrap()
}

/// A dispatcher builder for a receiver on this machine: loopback allowed (and so plain http to
/// loopback), private networks not.
pub fn local() -> runhook_dispatch::DispatcherBuilder {
    runhook_dispatch::DispatcherBuilder::new().address_policy(runhook::AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    })
}

/// The documented `run.failed` example, as bytes.
pub fn event() -> Bytes {
    Bytes::from_static(
        br#"{"event":"run.failed","run_id":"run-2","status":"FAILED","data":{"error":{"message":"Site blocked access","category":"AGENT_FAILURE"},"result":null}}"#,
    )
}

/// Every report of delivery `id`, up to and including the one that carries the outcome.
pub async fn reports_of(
    reports: &mut tokio::sync::broadcast::Receiver<runhook_dispatch::AttemptReport>,
    id: runhook_dispatch::DeliveryId,
) -> Vec<runhook_dispatch::AttemptReport> {
    let mut out = Vec::new();
    loop {
        let report = reports
            .recv()
            .await
            .expect("the dispatcher publishes reports");
        if report.delivery_id != id {
            continue;
        }
        let last = report.outcome.is_some();
        out.push(report);
        if last {
            return out;
        }
    }
}

/// The gaps between consecutive arrivals.
pub fn gaps(received: &[Received]) -> Vec<Duration> {
    received
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect()
}

/// Asserts `actual` is `expected` up to the timer's millisecond granularity.
#[track_caller]
pub fn assert_about(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(5),
        "expected {expected:?} (+5 ms), got {actual:?}"
    );
}

/// Yields to the runtime until `done` holds, for at most 20 s of real time (the paused clock does
/// not advance while a task spins on `yield_now`): a livelock fails instead of hanging.
#[track_caller]
pub fn yield_until(what: &str, done: impl Fn() -> bool) -> impl Future<Output = ()> {
    let caller = std::panic::Location::caller();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let what = what.to_owned();
    async move {
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{caller}: waited 20 s for: {what}"
            );
            tokio::task::yield_now().await;
        }
    }
}
