//! A fixed-rate load generator (wrk2 is not packaged): the p99 at a given rate, which wrk's
//! closed loop cannot give.
//!
//! One thread (a current-thread tokio runtime, like `wrk -t1`) and N keep-alive HTTP/1.1
//! connections (hyper). Connection `i` of N sends its k-th request at the scheduled time
//! `start + (k·N + i) / rate`, POSTing the documented payload with a fresh `run_id`. A request's
//! latency is counted from its scheduled time when the connection was still busy with the
//! previous answer at that time (the server's delay is not hidden: no coordinated omission), and
//! from the moment it was sent otherwise (tokio's timer wakes up to 1 ms late; that lateness is
//! the generator's, not the server's). Every latency is kept and sorted: exact percentiles.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::wrk::LoadResult;

/// The percentiles reported as the distribution's points (those of `fresh-run-id.lua`).
const PERCENTILES: [f64; 17] = [
    1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.9,
    99.99,
];

/// The documented payload split around its run id, to make a fresh one per request.
#[derive(Debug, Clone)]
pub struct Payload {
    pieces: Vec<String>,
}

impl Payload {
    /// Splits `body` around every occurrence of its `run_id` value.
    pub fn new(body: &str) -> Result<Payload> {
        let at = body
            .find("\"run_id\"")
            .context("no run_id in the payload")?;
        let rest = &body[at + "\"run_id\"".len()..];
        let start = rest.find('"').context("no run_id value")? + 1;
        let len = rest[start..].find('"').context("unterminated run_id")?;
        let run_id = &rest[start..start + len];
        Ok(Payload {
            pieces: body.split(run_id).map(str::to_owned).collect(),
        })
    }

    /// The payload with `run_id` in place of the original.
    pub fn with_run_id(&self, run_id: &str) -> Bytes {
        Bytes::from(self.pieces.join(run_id))
    }
}

/// POSTs to `http://addr{path}` at `rate` requests/s over `connections` connections for
/// `duration`.
pub fn paced(
    addr: SocketAddr,
    path: &str,
    payload: &Payload,
    rate: f64,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let start = Instant::now() + Duration::from_millis(100);
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let tag = format!("paced-{:x}-{}", since_epoch.as_millis(), std::process::id());
        let mut tasks = Vec::new();
        for i in 0..connections {
            let conn = Connection {
                addr,
                path: path.to_owned(),
                payload: payload.clone(),
                tag: format!("{tag}-{i}"),
                first: start + Duration::from_secs_f64(i as f64 / rate),
                interval: Duration::from_secs_f64(connections as f64 / rate),
                end: start + duration,
            };
            tasks.push(tokio::spawn(conn.run()));
        }
        let mut latencies = Vec::new();
        let (mut non2xx, mut errors) = (0, 0);
        for task in tasks {
            let outcome = task.await.context("a load task panicked")?;
            latencies.extend(outcome.latencies_us);
            non2xx += outcome.non2xx;
            errors += outcome.errors;
        }
        Ok(summarize(latencies, non2xx, errors, duration))
    })
}

/// What one connection saw.
struct Outcome {
    latencies_us: Vec<u32>,
    non2xx: u64,
    errors: u64,
}

/// One connection's schedule.
struct Connection {
    addr: SocketAddr,
    path: String,
    payload: Payload,
    tag: String,
    first: Instant,
    interval: Duration,
    end: Instant,
}

impl Connection {
    async fn run(self) -> Outcome {
        let mut outcome = Outcome {
            latencies_us: Vec::new(),
            non2xx: 0,
            errors: 0,
        };
        let Ok(stream) = tokio::net::TcpStream::connect(self.addr).await else {
            outcome.errors += 1;
            return outcome;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, connection)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            outcome.errors += 1;
            return outcome;
        };
        tokio::spawn(connection);
        let mut scheduled = self.first;
        let mut n = 0u64;
        while scheduled < self.end {
            let now = Instant::now();
            // Busy past the scheduled time: count from the schedule (the server made us late).
            let from = if now > scheduled + Duration::from_millis(1) {
                scheduled
            } else {
                tokio::time::sleep_until(scheduled.into()).await;
                Instant::now()
            };
            n += 1;
            let body = self.payload.with_run_id(&format!("{}-{n}", self.tag));
            let request = http::Request::post(self.path.as_str())
                .header(http::header::HOST, "127.0.0.1")
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body));
            let Ok(request) = request else {
                outcome.errors += 1;
                return outcome;
            };
            if sender.ready().await.is_err() {
                outcome.errors += 1;
                return outcome;
            }
            match sender.send_request(request).await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    if response.into_body().collect().await.is_err() {
                        outcome.errors += 1;
                        return outcome;
                    }
                    if !ok {
                        outcome.non2xx += 1;
                    }
                    let us = from.elapsed().as_micros();
                    outcome
                        .latencies_us
                        .push(u32::try_from(us).unwrap_or(u32::MAX));
                }
                Err(_) => {
                    outcome.errors += 1;
                    return outcome;
                }
            }
            scheduled += self.interval;
        }
        outcome
    }
}

/// Sorts the latencies into a result.
fn summarize(mut latencies: Vec<u32>, non2xx: u64, errors: u64, duration: Duration) -> LoadResult {
    latencies.sort_unstable();
    let at = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, latencies.len()) - 1;
        f64::from(latencies[index]) / 1000.0
    };
    LoadResult {
        requests: latencies.len() as u64,
        rps: latencies.len() as f64 / duration.as_secs_f64(),
        p50_ms: at(50.0),
        p99_ms: at(99.0),
        non2xx,
        errors,
        cdf: PERCENTILES.iter().map(|&p| (p, at(p))).collect(),
    }
}
