//! A running `runhook emulate` on 127.0.0.1:0, its stdout read line by line on a thread.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::listen::{PATIENCE, client};

pub const KEY: &str = "sk-emulated";

/// A running `runhook emulate`.
pub struct Emulate {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// The first line, as printed.
    pub first: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Emulate {
    /// `runhook emulate --addr 127.0.0.1:0 --api-key KEY EXTRA...`.
    pub fn start(extra: &[&str]) -> Emulate {
        let mut args = vec!["--addr", "127.0.0.1:0", "--api-key", KEY];
        args.extend(extra);
        Self::spawn(&args, &[])
    }

    /// `runhook emulate ARGS` with `env` set (and TINYFISH_API_KEY removed unless given).
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Emulate {
        let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .arg("emulate")
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("TINYFISH_API_KEY")
            .envs(env.iter().copied())
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
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(PATIENCE).expect("no first line");
        let base = first
            .strip_prefix("emulating the TinyFish API on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_owned();
        Emulate {
            child,
            lines,
            first,
            base,
        }
    }

    /// Lines until one contains `needle` (that one included).
    pub fn lines_until(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {needle:?}; saw {seen:#?}"));
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
    }

    /// POSTs `body` to `path` with the key: (status, JSON).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = client()
            .post(format!("{}{path}", self.base))
            .header("x-api-key", KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_str(&response.text().await.unwrap()).unwrap(),
        )
    }

    /// Sends `signal` (e.g. `-TERM`) and waits for the exit.
    pub fn stop(mut self, signal: &str) -> ExitStatus {
        let killed = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {signal}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Emulate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
