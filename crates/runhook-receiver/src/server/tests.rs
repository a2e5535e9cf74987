//! The server's timeouts and shutdown on real sockets, on tokio's paused clock.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::future::IntoFuture;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::{PeerAddr, ServerLimits, serve};

/// Answers every request with its peer address, after `delay`; never answers `/hang`.
#[derive(Clone)]
struct Slow {
    delay: Duration,
}

impl tower_service::Service<Request<Incoming>> for Slow {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<String>, Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let delay = self.delay;
        let peer = request.extensions().get::<PeerAddr>().copied();
        let hang = request.uri().path() == "/hang";
        Box::pin(async move {
            if hang {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(delay).await;
            Ok(Response::new(format!("{:?}", peer.map(|peer| peer.0.ip()))))
        })
    }
}

const HEADER: Duration = Duration::from_secs(10);

fn limits() -> ServerLimits {
    ServerLimits::default()
        .with_header_timeout(HEADER)
        .with_grace(Duration::from_secs(3))
}

/// Serves `Slow { delay }` on 127.0.0.1:0 until `stop` fires.
async fn start(
    delay: Duration,
    limits: ServerLimits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = serve(listener, Slow { delay })
        .limits(limits)
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
    (addr, stop, tokio::spawn(server.into_future()))
}

/// Connects, sends `sent`, and reads until the server closes: what it answered, and when.
async fn read_until_closed(addr: std::net::SocketAddr, sent: &[u8]) -> (String, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(sent).await.unwrap();
    let mut answer = Vec::new();
    // Far past every timeout: without the watchdog a silent connection stays open for ever,
    // and this fails instead of hanging.
    let read = tokio::time::timeout(HEADER * 10, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "{sent:?}: still open after {:?}", HEADER * 10);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

#[tokio::test(start_paused = true)]
async fn silent_and_partial_connections_are_closed_after_the_header_timeout() {
    let (addr, _stop, _server) = start(Duration::ZERO, limits()).await;
    for sent in [
        &b""[..],
        b"POST /webhooks/tinyfish HT",
        b"PRI * HTTP/2.0\r\n",
    ] {
        let (answer, closed) = read_until_closed(addr, sent).await;
        assert!(closed >= HEADER, "{sent:?}: closed after {closed:?}");
        assert!(closed < HEADER * 2, "{sent:?}: closed after {closed:?}");
        assert!(!answer.contains("200 OK"), "{answer}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_is_answered_with_its_peer_address_and_the_connection_then_idles_out() {
    let (addr, _stop, _server) = start(Duration::ZERO, limits()).await;
    let (answer, closed) = read_until_closed(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("Some(127.0.0.1)"), "{answer}");
    assert!(
        closed >= HEADER,
        "kept alive until the header timeout: {closed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_requests_in_progress_then_drops_the_rest_after_the_grace_period() {
    let (addr, stop, server) = start(Duration::from_secs(1), limits()).await;
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut hanging = TcpStream::connect(addr).await.unwrap();
    hanging
        .write_all(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let stopped = Instant::now();
    stop.send(()).unwrap();
    let mut answer = Vec::new();
    busy.read_to_end(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200 OK"));
    server.await.unwrap().unwrap();
    let took = stopped.elapsed();
    // The hanging request never finishes: only the grace period ends it.
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < HEADER, "{took:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test(start_paused = true)]
async fn beyond_the_connection_limit_a_connection_waits_for_a_slot() {
    let limits = limits().with_max_connections(1);
    let (addr, _stop, _server) = start(Duration::ZERO, limits).await;
    let _first = TcpStream::connect(addr).await.unwrap(); // silent: holds the one slot
    let started = Instant::now();
    let (answer, _) = read_until_closed(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    // Served only once the silent connection's header timeout freed the slot.
    assert!(started.elapsed() >= HEADER, "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_connection_setup_runs_before_http_and_within_the_header_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The setup greets the client, then hands the stream over; it never ends for a client
    // that sends `stall` first.
    let server = serve(
        listener,
        Slow {
            delay: Duration::ZERO,
        },
    )
    .limits(limits())
    .with_connection_setup(|mut stream: TcpStream| async move {
        stream.write_all(b"hello ").await?;
        let mut first = [0u8; 5];
        stream.peek(&mut first).await?;
        if &first == b"stall" {
            std::future::pending::<()>().await;
        }
        Ok(stream)
    });
    let _server = tokio::spawn(server.into_future());
    let (answer, _) = read_until_closed(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("hello HTTP/1.1 200 OK"), "{answer}");
    let (answer, closed) = read_until_closed(addr, b"stall").await;
    assert_eq!(answer, "hello ");
    assert!(closed >= HEADER && closed < HEADER * 2, "{closed:?}");
}
