//! `runhook listen --store`: deduplication that survives a kill -9 (SQLite, PostgreSQL, Redis)
//! and holds across three replicas (PostgreSQL, Redis), through the real binary, on real servers
//! (`RUNHOOK_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! `RUNHOOK_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`). With `CI=true` an unreachable
//! server fails the test; elsewhere it is skipped with a loud message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::listen::{Listen, client};
use support::postgres_url;

fn redis_url() -> Option<String> {
    let url = std::env::var("RUNHOOK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let host_port = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    let reachable = std::net::TcpStream::connect_timeout(
        &host_port
            .parse()
            .unwrap_or_else(|_| "127.0.0.1:6379".parse().unwrap()),
        Duration::from_secs(2),
    )
    .is_ok();
    if reachable {
        return Some(url);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "Redis at {url} is needed in CI"
    );
    eprintln!("SKIPPED: no Redis at {url}");
    None
}

fn completed(run_id: &str) -> String {
    format!(r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{}}}}"#)
}

async fn deliver(client: &reqwest::Client, url: &str, run_id: &str) -> (u16, String) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(completed(run_id))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (
        status,
        body["outcome"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Deliver, kill -9, start again on the same store, redeliver: a duplicate, not run again.
async fn survives_a_kill(store: &str) {
    let run_id = format!("restart-{}", uuid::Uuid::new_v4());
    let first = Listen::start_with(
        &["--json", "--grace-ms", "1000", "--store", store],
        &[],
        Stdio::null(),
    );
    assert_eq!(
        deliver(&client(), &first.url, &run_id).await,
        (200, "accepted".to_owned())
    );
    assert_eq!(first.next_json()["kind"], "accepted");
    let (status, _) = first.stop("-KILL");
    assert!(!status.success(), "killed");

    let second = Listen::start_with(
        &["--json", "--grace-ms", "1000", "--store", store],
        &[],
        Stdio::null(),
    );
    assert_eq!(
        deliver(&client(), &second.url, &run_id).await,
        (200, "duplicate".to_owned()),
        "the restarted listener remembers the run"
    );
    let line = second.next_json();
    assert_eq!(line["kind"], "duplicate", "{line}");
}

/// Three replicas on one store; every run delivered to all three at once: processed once.
async fn three_replicas_process_each_run_once(store: &str, runs: usize) {
    let replicas: Vec<Listen> = (0..3)
        .map(|_| {
            Listen::start_with(
                &["--json", "--grace-ms", "1000", "--store", store],
                &[],
                Stdio::null(),
            )
        })
        .collect();
    let batch = uuid::Uuid::new_v4();
    let mut deliveries = tokio::task::JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(48));
    let shared = client();
    for run in 0..runs {
        let run_id = format!("replica-{batch}-{run}");
        for replica in &replicas {
            let (url, run_id, gate) = (replica.url.clone(), run_id.clone(), gate.clone());
            let client = shared.clone();
            deliveries.spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                deliver(&client, &url, &run_id).await
            });
        }
    }
    let mut statuses = Vec::new();
    while let Some(result) = deliveries.join_next().await {
        statuses.push(result.unwrap());
    }
    let accepted_answers = statuses.iter().filter(|(_, o)| o == "accepted").count();
    for (status, outcome) in &statuses {
        assert!(
            (*status == 200 && (outcome == "accepted" || outcome == "duplicate"))
                || (*status == 503 && outcome == "in_flight"),
            "{status} {outcome}"
        );
    }
    let mut accepted_lines = BTreeSet::new();
    let mut lines = 0;
    for replica in replicas {
        let (_, rest) = replica.stop("-TERM");
        for line in rest {
            let line: Value = serde_json::from_str(&line).unwrap();
            if line["kind"] == "accepted" {
                lines += 1;
                accepted_lines.insert(line["run_id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert_eq!(
        accepted_answers, runs,
        "exactly one accepted answer per run"
    );
    assert_eq!(
        lines, runs,
        "exactly {runs} accepted lines across the replicas"
    );
    assert_eq!(accepted_lines.len(), runs, "each run accepted once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_survives_a_kill_9() {
    let Some(url) = redis_url() else { return };
    survives_a_kill(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_redis_process_each_of_500_runs_once() {
    let Some(url) = redis_url() else { return };
    three_replicas_process_each_run_once(&url, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("runhook.db").display());
    survives_a_kill(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_a_kill_9() {
    let Some(url) = postgres_url() else { return };
    let _heavy = support::heavy().await;
    survives_a_kill(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_postgres_process_each_of_500_runs_once() {
    let Some(url) = postgres_url() else { return };
    let _heavy = support::heavy().await;
    three_replicas_process_each_run_once(&url, 500).await;
}

#[test]
fn a_bad_or_unreachable_store_is_a_usage_error_at_start() {
    for (store, message) in [
        ("mysql://x", "is not a store"),
        ("redis://127.0.0.1:1", "cannot use the store"),
        (
            "postgres://postgres@127.0.0.1:1/test",
            "cannot use the store",
        ),
        ("sqlite:/nonexistent-dir/runhook.db", "cannot use the store"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .args(["listen", "--addr", "127.0.0.1:0", "--store", store])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{store}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{store}: {stderr}");
        assert!(output.stdout.is_empty(), "no listening line for {store}");
    }
}

/// `runhook listen` on PostgreSQL with info logs on, stopped once it listens: its stderr.
fn listen_stderr(store: &str, dir: &std::path::Path, run: usize) -> String {
    let path = dir.join(format!("stderr-{run}"));
    let file = std::fs::File::create(&path).unwrap();
    let env = [("RUST_LOG", "info")];
    let listen = Listen::start_with(&["--store", store], &env, Stdio::from(file));
    let (status, _) = listen.stop("-TERM");
    assert!(status.success(), "{status:?}");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn a_postgres_store_started_twice_prints_no_server_notice() {
    let Some(url) = postgres_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("notice_{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = format!("{url}{separator}schema={schema}");
    // The second start finds the schema and tables: PostgreSQL would say so in NOTICEs.
    for run in 0..2 {
        let stderr = listen_stderr(&store, dir.path(), run);
        assert!(stderr.contains("runhook: idempotency store"), "{stderr}");
        assert!(!stderr.contains("NOTICE"), "start {run}: {stderr}");
        assert!(!stderr.contains("already exists"), "start {run}: {stderr}");
    }
    let dropped = Command::new("psql")
        .args([
            url.as_str(),
            "-c",
            &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
        ])
        .output();
    // Without psql the schema stays behind, harmless (unique name).
    let _ = dropped;
}

#[test]
fn a_refused_postgres_address_is_named_in_plain_words() {
    // Port 1 on the loopback: nothing listens there, so the connection is refused.
    let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args([
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "postgres://postgres:s3cret@127.0.0.1:1/test",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1: connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn a_listen_that_cannot_bind_its_address_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for extra in [&[][..], &["--forward-to", "http://127.0.0.1:9/hook"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .current_dir(dir.path())
            .args(["listen", "--addr", &addr])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot listen on"), "{extra:?}: {stderr}");
        assert!(
            !dir.path().join("runhook.db").exists(),
            "{extra:?}: the default store was created: {stderr}"
        );
    }
}
