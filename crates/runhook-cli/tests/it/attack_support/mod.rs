//! Helpers of the attack tests: the `runhook listen` process, its resident memory, valid
//! deliveries timed, and SIGTERM timed.

#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// The requirement: the listener's resident memory stays under this during an attack.
pub const RSS_CEILING_BYTES: u64 = 300_000_000;
/// A valid delivery must be answered 200 within this, attack or not.
pub const DELIVERY_BOUND: Duration = Duration::from_secs(1);

/// A running `runhook listen` on 127.0.0.1:0 (stdout read on a thread; stderr discarded).
pub struct Listen {
    child: Child,
    /// The webhook URL from the first line.
    pub url: String,
    pub addr: SocketAddr,
    /// The webhook path, e.g. `/webhooks/tinyfish`.
    pub path: String,
    _lines: mpsc::Receiver<String>,
}

impl Listen {
    pub fn start(extra: &[&str]) -> Listen {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .args(["listen", "--addr", "127.0.0.1:0", "--store", "memory"])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once the test stops listening, keep draining so the listener never blocks.
                let _ = sender.send(line);
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("no first line");
        let url = listening_url(&first);
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_once('/').unwrap();
        Listen {
            child,
            addr: addr.parse().unwrap(),
            path: format!("/{path}"),
            url,
            _lines: lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns how long the process took to exit (panics after `limit`).
    pub fn terminate(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status:?}");
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "still running {limit:?} after SIGTERM"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples a process's VmRSS every 20 ms on a thread, keeping the peak.
pub struct Memory {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Memory {
    pub fn watch(pid: u32) -> Memory {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, done) = (Arc::clone(&peak_kib), Arc::clone(&stop));
        let thread = thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        Memory {
            pid,
            peak_kib,
            stop,
            thread: Some(thread),
        }
    }

    /// The peak in bytes: the largest sample, or the kernel's high-water mark if larger.
    pub fn peak_bytes(&self) -> u64 {
        let sampled = self.peak_kib.load(Ordering::Relaxed);
        let hwm = status_kib(self.pid, "VmHWM:").unwrap_or(0);
        sampled.max(hwm) * 1024
    }

    /// The current VmRSS in bytes.
    pub fn now_bytes(&self) -> u64 {
        status_kib(self.pid, "VmRSS:").unwrap_or(0) * 1024
    }

    /// Stops sampling and returns the peak in bytes (call it while the process runs, so the
    /// high-water mark can be read).
    pub fn finish(mut self) -> u64 {
        let peak = self.peak_bytes();
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        peak
    }
}

/// Prints the peak resident memory and asserts it is under [`RSS_CEILING_BYTES`].
pub fn assert_rss(peak: u64, attack: &str) {
    println!(
        "[{attack}] peak VmRSS of runhook listen: {:.1} MB",
        mb(peak)
    );
    assert!(
        peak < RSS_CEILING_BYTES,
        "[{attack}] peak VmRSS {:.1} MB is over the {:.0} MB ceiling",
        mb(peak),
        mb(RSS_CEILING_BYTES)
    );
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// POSTs a valid `run.completed` webhook with a fresh run id on a fresh HTTP/1.1 connection;
/// asserts 200 within [`DELIVERY_BOUND`] and returns the latency.
pub async fn deliver(url: &str, attack: &str) -> Duration {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(DELIVERY_BOUND)
        .build()
        .unwrap();
    let body = format!(
        r#"{{"event":"run.completed","run_id":"{}","status":"COMPLETED","data":{{"result":{{"a":1}}}}}}"#,
        uuid::Uuid::new_v4()
    );
    let start = Instant::now();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let latency = start.elapsed();
    let response = response
        .unwrap_or_else(|e| panic!("[{attack}] valid delivery failed after {latency:?}: {e}"));
    assert_eq!(response.status(), 200, "[{attack}] valid delivery");
    assert!(latency < DELIVERY_BOUND, "[{attack}] took {latency:?}");
    println!("[{attack}] valid delivery: 200 in {:.1} ms", ms(latency));
    latency
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The URL of listen's first line: `listening on URL`, or with `--json`
/// `{"kind":"listening","url":URL}`.
fn listening_url(first: &str) -> String {
    if let Some(url) = first.strip_prefix("listening on ") {
        return url.to_owned();
    }
    let line: serde_json::Value =
        serde_json::from_str(first).unwrap_or_else(|e| panic!("first line: {first:?}: {e}"));
    assert_eq!(line["kind"], "listening", "{first}");
    line["url"].as_str().unwrap().to_owned()
}
