//! `runhook listen --confirm-with-api` through the real binary, against the emulator on
//! 127.0.0.1: a real run's webhook is accepted; forged ones (a run the API does not know, a
//! status the API does not have) get 401; without an API key the command exits 2.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::process::{Command, Stdio};
use std::time::Duration;

use runhook_emulator::{Emulator, EmulatorConfig};
use runhook_tinyfish::{Client, RunRequest};
use serde_json::json;
use support::listen::{Listen, post};

const KEY: &str = "sk-cli-confirm";

fn emulator(runtime: &tokio::runtime::Runtime) -> Emulator {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = EmulatorConfig::new([KEY])
            .allow_http_loopback(true)
            .speed(100.0);
        Emulator::start(config, listener).await.unwrap()
    })
}

#[test]
fn a_real_webhook_is_accepted_and_forged_ones_get_401() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = emulator(&runtime);
    let base = emulator.base_url();
    let env = [
        ("TINYFISH_API_KEY", KEY),
        ("TINYFISH_BASE_URL", base.as_str()),
    ];
    let listen = Listen::start_with(&["--json", "--confirm-with-api"], &env, Stdio::null());
    let client = Client::builder()
        .base_url(&base)
        .api_key(KEY)
        .build()
        .unwrap();

    // A real run, whose webhook the emulator delivers to the listener.
    let request = RunRequest::new("https://example.com", "Extract the page title")
        .webhook_url(listen.url.clone());
    let run_id = runtime.block_on(client.create_run_async(&request)).unwrap();
    let line = listen.next_json();
    assert_eq!(line["kind"], "accepted", "{line}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["run_id"], run_id.as_str());

    // The same run with a status the API does not have.
    let forged = json!({
        "event": "run.failed", "run_id": run_id.as_str(), "status": "FAILED",
        "data": {"error": {"message": "forged"}, "result": null}
    });
    let status = runtime.block_on(post(&listen.url, "application/json", forged.to_string()));
    assert_eq!(status, 401);
    let line = listen.next_json();
    assert_eq!(
        (line["kind"].as_str(), line["status"].as_u64()),
        (Some("rejected"), Some(401))
    );

    // A run the API does not know.
    let stranger = json!({
        "event": "run.completed", "run_id": "forged-run-0001", "status": "COMPLETED",
        "data": {"result": {"title": "forged"}}
    });
    let status = runtime.block_on(post(&listen.url, "application/json", stranger.to_string()));
    assert_eq!(status, 401);
    let line = listen.next_json();
    assert_eq!(line["status"], 401, "{line}");
    assert_eq!(line["run_id"], "forged-run-0001");
    assert!(listen.line_within(Duration::from_millis(200)).is_none());
    listen.kill();
    runtime.block_on(emulator.shutdown());
}

#[test]
fn an_unreachable_api_gets_503_so_the_sender_retries() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [
        ("TINYFISH_API_KEY", KEY),
        ("TINYFISH_BASE_URL", base.as_str()),
    ];
    let listen = Listen::start_with(&["--json", "--confirm-with-api"], &env, Stdio::null());
    let event = json!({
        "event": "run.completed", "run_id": "r-unreachable", "status": "COMPLETED", "data": {}
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(post(&listen.url, "application/json", event.to_string()));
    assert_eq!(status, 503);
    let line = listen.next_json();
    assert_eq!(line["outcome"], "confirm_unavailable", "{line}");
    listen.kill();
}

#[test]
fn without_an_api_key_the_command_exits_2_and_says_why() {
    let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args([
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--confirm-with-api",
        ])
        .env_remove("TINYFISH_API_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("TINYFISH_API_KEY"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing listened");
}
