//! Hostile clients against the real `runhook listen` binary on 127.0.0.1: slowloris and silent
//! connections, stalled 1 MiB bodies, h2c connections with stalled streams. While each attack
//! holds its connections, valid deliveries must get 200 within 1 s and the listener's resident
//! memory must stay under 300 MB; SIGTERM must end it within the grace period plus a margin.
//!
//! `scripts/attack.sh` runs these with their figures printed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::attack_support;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use attack_support::{Listen, Memory, assert_rss, deliver, mb, ms};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Every attack test must finish within this (connection setup included).
const TEST_BOUND: Duration = Duration::from_secs(20);
/// The `--grace-ms` the attacked listener runs with, and the margin allowed on top of it.
const GRACE: Duration = Duration::from_millis(2000);
const GRACE_MARGIN: Duration = Duration::from_millis(3000);
/// The body size the stalled requests declare (the receiver's default limit).
const DECLARED: usize = 1024 * 1024;
/// What they send of it before stalling: all but the last byte.
const SENT: usize = DECLARED - 1;

fn start_listen() -> Listen {
    Listen::start(&["--grace-ms", &GRACE.as_millis().to_string()])
}

/// Valid deliveries while an attack runs: `count` of them, `spacing` apart, the first at once.
async fn deliveries(url: String, attack: &'static str, count: usize, spacing: Duration) {
    for i in 0..count {
        if i > 0 {
            tokio::time::sleep(spacing).await;
        }
        deliver(&url, attack).await;
    }
}

/// SIGTERM with the attack's connections still open: the listener must exit in time.
fn terminate(listen: &mut Listen, attack: &str) {
    let took = listen.terminate(GRACE + GRACE_MARGIN);
    println!(
        "[{attack}] exit after SIGTERM: {:.0} ms (grace {} ms)",
        ms(took),
        GRACE.as_millis()
    );
}

#[test]
fn a_silent_connection_and_a_partial_head_are_closed_after_the_header_timeout() {
    let listen = Listen::start(&["--header-timeout-ms", "1000"]);
    let start = Instant::now();
    let mut silent = std::net::TcpStream::connect(listen.addr).unwrap();
    let mut partial = std::net::TcpStream::connect(listen.addr).unwrap();
    partial.write_all(b"POST /webhooks/tinyfish HT").unwrap();
    for (name, stream) in [("silent", &mut silent), ("partial head", &mut partial)] {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        match stream.read_to_end(&mut answer) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{name}: not closed: {e} after {:?}", start.elapsed()),
        }
        let closed = start.elapsed();
        println!(
            "[header timeout 1000 ms] {name} connection closed after {:.0} ms",
            ms(closed)
        );
        assert!(closed >= Duration::from_millis(900), "{name}: {closed:?}");
        assert!(closed < Duration::from_millis(2500), "{name}: {closed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_1020_connections_starve_neither_deliveries_nor_memory() {
    const ATTACK: &str = "slowloris 1020";
    let body = async {
        let mut listen = start_listen();
        let memory = Memory::watch(listen.pid());
        // Half silent, half sending a request head that never ends, 3 bytes every 300 ms.
        let mut silent = Vec::new();
        let mut slow = Vec::new();
        for i in 0..1020 {
            let stream = TcpStream::connect(listen.addr).await.unwrap();
            if i % 2 == 0 {
                silent.push(stream);
            } else {
                slow.push(stream);
            }
        }
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: {}",
            listen.path,
            "a".repeat(4096)
        );
        let dribble = tokio::spawn(async move {
            for chunk in head.as_bytes().chunks(3) {
                for stream in &mut slow {
                    stream.write_all(chunk).await.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        println!("[{ATTACK}] 1020 connections open (510 silent, 510 dribbling a head)");
        deliveries(listen.url.clone(), ATTACK, 4, Duration::from_millis(1000)).await;
        assert!(!dribble.is_finished(), "the head is still being dribbled");
        let peak = memory.finish();
        terminate(&mut listen, ATTACK);
        assert_rss(peak, ATTACK);
        dribble.abort();
        drop(silent);
    };
    tokio::time::timeout(TEST_BOUND, body)
        .await
        .expect("the test took too long");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_1_mib_bodies_on_1500_connections_starve_neither_deliveries_nor_memory() {
    const ATTACK: &str = "1500 stalled 1 MiB bodies";
    let body = async {
        let mut listen = start_listen();
        let memory = Memory::watch(listen.pid());
        let payload = Bytes::from(vec![b' '; SENT]);
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {DECLARED}\r\n\r\n",
            listen.path
        );
        let started = Instant::now();
        let mut flood = JoinSet::new();
        for _ in 0..1500 {
            let (addr, head, payload) = (listen.addr, head.clone(), payload.clone());
            flood.spawn(async move {
                // The server may answer 503 (body budget spent) and close while the body is
                // still being written: that connection is refused, not held.
                let mut stream = TcpStream::connect(addr).await.ok()?;
                stream.write_all(head.as_bytes()).await.ok()?;
                stream.write_all(&payload).await.ok()?;
                Some(stream)
            });
        }
        let url = listen.url.clone();
        let delivered = tokio::spawn(deliveries(url, ATTACK, 3, Duration::from_millis(1500)));
        // Hold every connection once its body (all but the last byte) is sent.
        let mut held = Vec::new();
        let mut refused = 0usize;
        let all_sent = async {
            while let Some(stream) = flood.join_next().await {
                match stream.unwrap() {
                    Some(stream) => held.push(stream),
                    None => refused += 1,
                }
            }
        };
        let in_time = tokio::time::timeout(Duration::from_secs(10), all_sent).await;
        println!(
            "[{ATTACK}] {} of 1500 connections sent {SENT} of {DECLARED} bytes in {:.1} s ({refused} \
             cut off by the server){}",
            held.len(),
            started.elapsed().as_secs_f64(),
            if in_time.is_ok() {
                ""
            } else {
                " (the rest still sending)"
            },
        );
        delivered.await.unwrap();
        deliver(&listen.url, ATTACK).await;
        println!(
            "[{ATTACK}] VmRSS while the bodies stall: {:.1} MB",
            mb(memory.now_bytes())
        );
        let peak = memory.finish();
        terminate(&mut listen, ATTACK);
        drop(held);
        flood.abort_all();
        assert_rss(peak, ATTACK);
    };
    tokio::time::timeout(TEST_BOUND, body)
        .await
        .expect("the test took too long");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_5_connections_of_200_stalled_streams_starve_neither_deliveries_nor_memory() {
    const ATTACK: &str = "h2c 5x200 stalled streams";
    let body = async {
        let mut listen = start_listen();
        let memory = Memory::watch(listen.pid());
        let payload = Bytes::from(vec![b' '; SENT]);
        let uri = format!("http://{}{}", listen.addr, listen.path);
        let mut held = Vec::new();
        let mut senders = Vec::new();
        for _ in 0..5 {
            let tcp = TcpStream::connect(listen.addr).await.unwrap();
            let (sender, connection) = h2::client::handshake(tcp).await.unwrap();
            tokio::spawn(connection);
            for _ in 0..200 {
                let request = http::Request::post(&uri)
                    .version(http::Version::HTTP_2)
                    .header("content-type", "application/json")
                    .header("content-length", DECLARED)
                    .body(())
                    .unwrap();
                // A fresh handle per stream: h2 queues the streams over the server's limit.
                let (response, mut stream) = sender.clone().send_request(request, false).unwrap();
                stream.send_data(payload.clone(), false).unwrap();
                held.push((response, stream));
            }
            senders.push(sender);
        }
        println!("[{ATTACK}] 1000 streams requested, {SENT} of {DECLARED} body bytes each");
        deliveries(listen.url.clone(), ATTACK, 4, Duration::from_millis(1000)).await;
        let accepted: Vec<usize> = senders
            .iter()
            .map(h2::client::SendRequest::current_max_send_streams)
            .collect();
        println!("[{ATTACK}] concurrent streams the server allows per connection: {accepted:?}");
        let peak = memory.finish();
        terminate(&mut listen, ATTACK);
        assert_rss(peak, ATTACK);
        drop(held);
    };
    tokio::time::timeout(TEST_BOUND, body)
        .await
        .expect("the test took too long");
}
