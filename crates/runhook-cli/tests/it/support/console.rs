//! The console's processes for the browser tests, all the real `runhook` binary on 127.0.0.1:
//! `runhook console --store …`, a relay (`listen --forward-to`) or a plain receiver with
//! `--console`; and an app for the relay whose answer (status, and a gate that holds it) the
//! test sets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::listen::{Listen, PATIENCE};

/// Lines of a child's output, read on a thread of their own (the pipe never fills).
pub fn read_lines(output: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(output).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// Waits (at most [`PATIENCE`]) for the line of `lines` that starts with `start`; the rest of
/// that line. Panics with the lines seen before it.
pub fn line_starting(lines: &mpsc::Receiver<String>, start: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => match line.strip_prefix(start) {
                Some(rest) => return rest.trim().to_owned(),
                None => seen.push(line),
            },
            Err(_) => panic!("no line starting {start:?} within {PATIENCE:?}; saw {seen:#?}"),
        }
    }
}

/// A running `runhook console`.
pub struct Console {
    pub child: Child,
    /// The console's base URL, from its first line (`console on http://ADDR`), no trailing `/`.
    pub url: String,
    stderr: mpsc::Receiver<String>,
}

impl Console {
    /// `runhook console --store STORE --addr 127.0.0.1:0`.
    pub fn start(store: &str) -> Console {
        Self::spawn(&["--store", store, "--addr", "127.0.0.1:0"], &[])
    }

    /// `runhook console ARGS` with `env` set; waits for its first line.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Console {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .arg("console")
            .args(args)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = read_lines(child.stdout.take().unwrap());
        let stderr = read_lines(child.stderr.take().unwrap());
        let first = stdout.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            let said: Vec<String> = stderr.try_iter().collect();
            panic!("runhook console {args:?} printed no first line; stderr: {said:#?}")
        });
        let url = first
            .strip_prefix("console on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        Console { child, url, stderr }
    }

    /// What it said on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `runhook console ARGS` expected to exit at once: its exit code (`None` if it was still
/// running after [`PATIENCE`], then killed) and stderr.
pub fn console_exit(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let args: Vec<&str> = std::iter::once("console")
        .chain(args.iter().copied())
        .collect();
    super::exit_of(&args, env)
}

/// A `runhook listen` with `--console 127.0.0.1:0`: the receiver (or relay) and its console.
pub struct Listening {
    pub listen: Listen,
    /// The console's base URL, from stderr (`runhook: console on http://ADDR`), no trailing `/`.
    pub console: String,
    stderr: mpsc::Receiver<String>,
}

impl Listening {
    /// `runhook listen --addr 127.0.0.1:0 --console 127.0.0.1:0 ARGS` (`--store memory` unless
    /// ARGS name a store).
    pub fn start(args: &[&str]) -> Listening {
        let all = [&["--console", "127.0.0.1:0"], args].concat();
        let mut listen = Listen::start_with(&all, &[], Stdio::piped());
        let stderr = read_lines(listen.child.stderr.take().unwrap());
        let console = line_starting(&stderr, "runhook: console on ")
            .trim_end_matches('/')
            .to_owned();
        Listening {
            listen,
            console,
            stderr,
        }
    }

    /// A relay to `app` on the inbox at `store`, with its console; failed forwards are tried
    /// again after 50 ms (doubling).
    pub fn relay(app: &str, store: &str) -> Listening {
        Self::start(&[
            "--json",
            "--store",
            store,
            "--forward-to",
            app,
            "--retry-base-ms",
            "50",
        ])
    }

    /// The webhook URL.
    pub fn url(&self) -> &str {
        &self.listen.url
    }

    /// What it said on stderr since its console line.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Stops it with SIGTERM; panics unless it exits 0.
    pub fn stop(self) {
        let (status, _) = self.listen.stop("-TERM");
        assert!(status.success(), "runhook listen ended {status} on SIGTERM");
    }
}

/// The app's state, shared with its handler.
struct Shared {
    /// The status every request gets.
    status: AtomicU16,
    /// Open (true): answer at once; closed: hold each request until it opens.
    gate: tokio::sync::watch::Sender<bool>,
    /// Requests per `Idempotency-Key`.
    requests: Mutex<HashMap<String, u32>>,
    /// 2xx answers per `Idempotency-Key`.
    delivered: Mutex<HashMap<String, u32>>,
}

/// An app for the relay on 127.0.0.1 (axum, in the test's runtime) at `/webhooks/tinyfish`.
pub struct App {
    pub url: String,
    shared: Arc<Shared>,
}

impl App {
    /// Starts the app answering `status` to every request, its gate open.
    pub async fn start(status: u16) -> App {
        let shared = Arc::new(Shared {
            status: AtomicU16::new(status),
            gate: tokio::sync::watch::Sender::new(true),
            requests: Mutex::new(HashMap::new()),
            delivered: Mutex::new(HashMap::new()),
        });
        let router = axum::Router::new()
            .route("/webhooks/tinyfish", axum::routing::post(receive))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/webhooks/tinyfish",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        App { url, shared }
    }

    /// From now on, answer `status`.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Holds every request (`false`) until the gate opens (`true`), at most [`PATIENCE`].
    pub fn gate(&self, open: bool) {
        self.shared.gate.send_replace(open);
    }

    /// Requests received for `key`.
    pub fn requests(&self, key: &str) -> u32 {
        let requests = self.shared.requests.lock().unwrap();
        requests.get(key).copied().unwrap_or(0)
    }

    /// 2xx answers given for `key`.
    pub fn delivered(&self, key: &str) -> u32 {
        let delivered = self.shared.delivered.lock().unwrap();
        delivered.get(key).copied().unwrap_or(0)
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> StatusCode {
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    *shared
        .requests
        .lock()
        .unwrap()
        .entry(key.clone())
        .or_insert(0) += 1;
    let mut gate = shared.gate.subscribe();
    let _ = tokio::time::timeout(PATIENCE, gate.wait_for(|open| *open)).await;
    let status = shared.status.load(Ordering::SeqCst);
    if (200..300).contains(&status) {
        *shared.delivered.lock().unwrap().entry(key).or_insert(0) += 1;
    }
    StatusCode::from_u16(status).unwrap()
}

/// The rows of the inbox at `store` in `state` (pending, done or dead), as `inbox list --json`
/// prints them.
pub fn rows(store: &str, state: &str) -> Vec<Value> {
    let output = super::relay::inbox(&[
        "list", "--state", state, "--json", "--limit", "100000", "--store", store,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", super::stderr(&output));
    super::json_lines(&output)
}

/// Waits (at most [`PATIENCE`]) until each of `keys` is in `state` in the inbox at `store`.
pub async fn wait_for_state(store: &str, keys: &[String], state: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (store_, state_) = (store.to_owned(), state.to_owned());
        let now = tokio::task::spawn_blocking(move || rows(&store_, &state_))
            .await
            .unwrap();
        let missing: Vec<&String> = keys
            .iter()
            .filter(|key| !now.iter().any(|row| row["key"] == key.as_str()))
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not {state} within {PATIENCE:?}: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `runhook inbox show KEY --json` at `store`: the row.
pub fn shown(store: &str, key: &str) -> Value {
    let output = super::relay::inbox(&["show", key, "--store", store, "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", super::stderr(&output));
    serde_json::from_str(super::stdout(&output).trim()).unwrap()
}
