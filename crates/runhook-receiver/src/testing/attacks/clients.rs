//! The hostile clients, and the valid delivery timed while they attack.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};

use super::DELIVERY_BOUND;

/// POSTs a valid `run.completed` webhook with a fresh run id to `url` on a fresh HTTP/1.1
/// connection; panics unless it gets 200 within [`DELIVERY_BOUND`]. Returns the latency.
pub async fn deliver(url: &str, attack: &str) -> Duration {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let run_id = format!(
        "attack-{}-{nanos}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    );
    let body = format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{"result":{{"a":1}}}}}}"#
    );
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|error| panic!("[{attack}] bad URL {url}: {error}"));
    let start = Instant::now();
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(status)
    };
    let answer = tokio::time::timeout(DELIVERY_BOUND, exchange).await;
    let latency = start.elapsed();
    match answer {
        Ok(Ok(status)) => assert_eq!(status, 200, "[{attack}] valid delivery"),
        Ok(Err(error)) => panic!("[{attack}] valid delivery failed after {latency:?}: {error}"),
        Err(_) => panic!("[{attack}] valid delivery: no answer within {DELIVERY_BOUND:?}"),
    }
    println!("[{attack}] valid delivery: 200 in {:.1} ms", ms(latency));
    latency
}

/// `count` valid deliveries, `spacing` apart (the first at once); their latencies.
pub(super) async fn deliveries(
    url: &str,
    attack: &str,
    count: usize,
    spacing: Duration,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for i in 0..count {
        if i > 0 {
            tokio::time::sleep(spacing).await;
        }
        latencies.push(deliver(url, attack).await);
    }
    latencies
}

/// Connects and sends `sent` (nothing for a silent connection), then reads until the server
/// closes the connection; how long that took, or `None` if it is still open after `patience`.
pub(super) async fn closed_after(
    addr: SocketAddr,
    sent: &[u8],
    patience: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.write_all(sent).await;
    let mut answer = Vec::new();
    match tokio::time::timeout(patience, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(start.elapsed()), // EOF or a reset: closed by the server
        Err(_) => None,
    }
}

/// Slowloris: `count` connections, half silent, half dribbling a request head to `path` that
/// never ends (3 bytes to each every 300 ms). The silent ones, and the task dribbling.
pub(super) async fn slowloris(
    addr: SocketAddr,
    path: &str,
    count: usize,
) -> (Vec<TcpStream>, JoinHandle<()>) {
    let mut silent = Vec::new();
    let mut slow = Vec::new();
    for i in 0..count {
        let Ok(stream) = TcpStream::connect(addr).await else {
            continue;
        };
        if i % 2 == 0 {
            silent.push(stream);
        } else {
            slow.push(stream);
        }
    }
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: {}",
        "a".repeat(4096)
    );
    let dribble = tokio::spawn(async move {
        for chunk in head.as_bytes().chunks(3) {
            for stream in &mut slow {
                let _ = stream.write_all(chunk).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    (silent, dribble)
}

/// `count` HTTP/1.1 connections that each declare a body of `declared` bytes and send all but
/// its last byte. The connections still open once sent (the server may answer 503 and close
/// while a body is being written: that connection is refused, not held), and how many were
/// refused, after at most `patience`.
pub(super) async fn stalled_bodies(
    addr: SocketAddr,
    path: &str,
    count: usize,
    declared: usize,
    patience: Duration,
) -> (Vec<TcpStream>, usize) {
    let payload = Bytes::from(vec![b' '; declared.saturating_sub(1)]);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
    );
    let mut flood = JoinSet::new();
    for _ in 0..count {
        let (head, payload) = (head.clone(), payload.clone());
        flood.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.ok()?;
            stream.write_all(head.as_bytes()).await.ok()?;
            stream.write_all(&payload).await.ok()?;
            Some(stream)
        });
    }
    let mut held = Vec::new();
    let mut refused = 0usize;
    let all_sent = async {
        while let Some(stream) = flood.join_next().await {
            match stream.ok().flatten() {
                Some(stream) => held.push(stream),
                None => refused += 1,
            }
        }
    };
    let _ = tokio::time::timeout(patience, all_sent).await;
    flood.abort_all();
    (held, refused)
}

/// The h2c streams of [`h2c_stalled_streams`]: kept open while held.
pub(super) struct HeldStreams {
    /// The requests' answers and bodies, never finished.
    _streams: Vec<(h2::client::ResponseFuture, h2::SendStream<Bytes>)>,
    /// One handle per connection.
    pub(super) senders: Vec<h2::client::SendRequest<Bytes>>,
}

/// `connections` h2c (prior knowledge) connections, each requesting `streams` streams to `path`
/// that declare `declared` bytes and send all but the last.
pub(super) async fn h2c_stalled_streams(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    streams: usize,
    declared: usize,
) -> HeldStreams {
    let payload = Bytes::from(vec![b' '; declared.saturating_sub(1)]);
    let uri = format!("http://{addr}{path}");
    let mut held = Vec::new();
    let mut senders = Vec::new();
    for _ in 0..connections {
        let Ok(tcp) = TcpStream::connect(addr).await else {
            continue;
        };
        let Ok((sender, connection)) = h2::client::handshake(tcp).await else {
            continue;
        };
        tokio::spawn(connection);
        for _ in 0..streams {
            let Ok(request) = http::Request::post(&uri)
                .version(http::Version::HTTP_2)
                .header("content-type", "application/json")
                .header("content-length", declared)
                .body(())
            else {
                continue;
            };
            // A fresh handle per stream: h2 queues the streams over the server's limit.
            let Ok((response, mut stream)) = sender.clone().send_request(request, false) else {
                continue;
            };
            let _ = stream.send_data(payload.clone(), false);
            held.push((response, stream));
        }
        senders.push(sender);
    }
    HeldStreams {
        _streams: held,
        senders,
    }
}

/// A duration in milliseconds, for the figures printed.
pub(super) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Bytes in megabytes, for the figures printed.
pub(super) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
