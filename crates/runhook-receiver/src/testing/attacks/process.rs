//! The attacked server as a process of its own, and its resident memory.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server process may take to print its `listening on URL` line.
const START_BOUND: Duration = Duration::from_secs(30);

/// A server under attack, in a process of its own so that its resident memory is its alone:
/// started from a command that prints a line `listening on http://ADDR/PATH` (or, like
/// `runhook listen --json`, `{"kind":"listening","url":...}`) on stdout once it accepts
/// connections, and ends with status 0 on SIGTERM. Killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    url: String,
    addr: SocketAddr,
    path: String,
    _lines: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts `command` (stdout piped, stderr discarded) and waits for its listening line;
    /// panics if none comes within 30 s.
    pub fn start(mut command: Command) -> ServerProcess {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let Some(stdout) = child.stdout.take() else {
            panic!("{command:?}: no stdout");
        };
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Once the test stops listening, keep draining so the server never blocks.
                let _ = sender.send(line);
            }
        });
        let started = Instant::now();
        let url = loop {
            let left = START_BOUND.saturating_sub(started.elapsed());
            let line = lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("{command:?}: no listening line within {START_BOUND:?}")
            });
            if let Some(url) = listening_url(&line) {
                break url;
            }
        };
        let rest = url.strip_prefix("http://").unwrap_or(&url);
        let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
        let addr = addr
            .parse()
            .unwrap_or_else(|error| panic!("listening line {url:?}: {error}"));
        ServerProcess {
            child,
            addr,
            path: format!("/{path}"),
            url,
            _lines: lines,
        }
    }

    /// The webhook URL of the listening line.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The webhook path, e.g. `/webhooks/tinyfish`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns how long the process took to exit; panics if it is still
    /// running after `limit`, or exits with a failure.
    pub fn terminate(&mut self, limit: Duration) -> Duration {
        let start = Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(
            killed.is_ok_and(|status| status.success()),
            "kill -TERM failed"
        );
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(status.success(), "exit after SIGTERM: {status:?}");
                    return start.elapsed();
                }
                Ok(None) => {}
                Err(error) => panic!("cannot wait for the server: {error}"),
            }
            assert!(
                start.elapsed() < limit,
                "still running {limit:?} after SIGTERM"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL of a listening line: `listening on URL` (possibly after other output on the same
/// line, such as the test harness's `test NAME ... `), or `{"kind":"listening","url":URL}`.
fn listening_url(line: &str) -> Option<String> {
    const PREFIX: &str = "listening on ";
    if let Some(at) = line.find(PREFIX) {
        return line
            .get(at + PREFIX.len()..)
            .map(|url| url.trim().to_owned());
    }
    let line: serde_json::Value = serde_json::from_str(line).ok()?;
    if line["kind"] != "listening" {
        return None;
    }
    line["url"].as_str().map(str::to_owned)
}

/// Samples a process's VmRSS every 20 ms on a thread, keeping the peak.
#[derive(Debug)]
pub struct Memory {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Memory {
    /// Starts sampling process `pid`.
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

    /// The current VmRSS in bytes.
    pub fn now_bytes(&self) -> u64 {
        status_kib(self.pid, "VmRSS:").unwrap_or(0) * 1024
    }

    /// Stops sampling and returns the peak in bytes: the largest sample, or the kernel's
    /// high-water mark if larger (call it while the process runs, so the mark can be read).
    pub fn finish(mut self) -> u64 {
        let sampled = self.peak_kib.load(Ordering::Relaxed);
        let hwm = status_kib(self.pid, "VmHWM:").unwrap_or(0);
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        sampled.max(hwm) * 1024
    }
}

/// A `kB` field of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.get(field.len()..)?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
