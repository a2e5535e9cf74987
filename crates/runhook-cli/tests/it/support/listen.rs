//! A running `runhook listen` on 127.0.0.1:0, its stdout read line by line on a thread.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long to wait for something the listener should do promptly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `runhook listen`, its stdout read line by line.
pub struct Listen {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// The webhook URL from the first line.
    pub url: String,
}

impl Listen {
    pub fn start(extra: &[&str]) -> Listen {
        Self::start_with(extra, &[], Stdio::null())
    }

    /// With environment variables set and stderr sent where asked.
    pub fn start_with(extra: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Listen {
        let mut args = vec!["--addr", "127.0.0.1:0"];
        // Tests share no store unless they ask for one (the default is a file in the cwd).
        if !extra.contains(&"--store") {
            args.extend(["--store", "memory"]);
        }
        args.extend(extra);
        Self::spawn(&args, env, stderr)
    }

    /// `runhook listen ARGS` exactly (no address or store added).
    pub fn spawn(args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Listen {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .arg("listen")
            .args(args)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(PATIENCE).expect("no first line");
        let url = listening_url(&first);
        Listen { child, lines, url }
    }

    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("no line for the delivery")
    }

    /// The next line within `wait`, if one comes.
    pub fn line_within(&self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn next_json(&self) -> Value {
        let line = self.next_line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    /// Sends `signal` (e.g. `-TERM`) and waits for the process to exit.
    pub fn stop(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let killed = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "still running after {signal}");
            thread::sleep(Duration::from_millis(20));
        };
        // The reader thread may not have passed on the last lines yet (a loaded machine runs it
        // late): read them up to the end of the output, which the exit closed.
        let mut rest = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => rest.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("stdout still open after the exit"),
            }
        }
        (status, rest)
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL of listen's first line: `listening on URL`, or with `--json`
/// `{"kind":"listening","url":URL}`.
pub fn listening_url(first: &str) -> String {
    if let Some(url) = first.strip_prefix("listening on ") {
        return url.to_owned();
    }
    let line: serde_json::Value =
        serde_json::from_str(first).unwrap_or_else(|e| panic!("first line: {first:?}: {e}"));
    assert_eq!(line["kind"], "listening", "{first}");
    line["url"].as_str().unwrap().to_owned()
}

/// A client that never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// POSTs `body` with `content_type` to `url`; the status.
pub async fn post(url: &str, content_type: &str, body: impl Into<reqwest::Body>) -> u16 {
    client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
