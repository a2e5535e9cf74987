//! `runhook inbox list|show|replay|purge` on a file a relay wrote, and the relay's lines and
//! usage errors, through the real binary: a row dead-lettered by an app that answers 400 is
//! replayed once the app is fixed, and delivered.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::app::App;
use support::listen::{Listen, client};
use support::relay::{completed, inbox};
use support::{json_lines, stderr, stdout};

async fn deliver(url: &str, run_id: &str) {
    let response = client()
        .post(url)
        .header("content-type", "application/json")
        .body(completed(run_id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The next line of `relay` whose kind is not `accepted` (within 100 lines, each within
/// `PATIENCE`).
fn next_attempt(relay: &Listen) -> Value {
    for _ in 0..100 {
        let line = relay.next_json();
        if line["kind"] != "accepted" {
            return line;
        }
    }
    panic!("100 lines, all of them `accepted`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_refused_with_400_is_dead_until_replayed_then_delivered() {
    let app = App::start(7, 0.0).await;
    app.answer(400);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let relay = Listen::start_with(
        &["--json", "--store", &store, "--forward-to", &app.url],
        &[],
        Stdio::null(),
    );
    deliver(&relay.url, "dead-1").await;
    deliver(&relay.url, "dead-2").await;
    for _ in 0..2 {
        let dead = next_attempt(&relay);
        assert_eq!(dead["kind"], "dead", "{dead}");
        assert_eq!(dead["status"], 400);
        assert_eq!(dead["attempt"], 1);
        assert_eq!(dead["event"], "run.completed");
        assert!(dead["next_at"].is_null());
        assert!(dead["elapsed_ms"].is_u64());
        let error = dead["error"].as_str().unwrap();
        assert!(error.contains("400 Bad Request"), "{error}");
    }

    // list: a table, and JSON Lines with a state filter.
    let table = inbox(&["list", "--store", &store]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    let text = stdout(&table);
    let mut rows = text.lines();
    let header = rows.next().unwrap();
    for column in [
        "KEY",
        "STATE",
        "ATTEMPTS",
        "EVENT",
        "RUN_ID",
        "RECEIVED_AT",
        "NEXT_AT",
        "LAST_ERROR",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = rows.next().unwrap();
    assert!(
        row.starts_with("dead-1") && row.contains(" dead ") && row.contains("400"),
        "{row}"
    );
    assert_eq!(rows.count(), 1);
    let dead = json_lines(&inbox(&[
        "list", "--store", &store, "--state", "dead", "--json",
    ]));
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0]["key"], "dead-1");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], 1);
    assert!(dead[0]["last_error"].as_str().unwrap().contains("400"));
    let limited = json_lines(&inbox(&[
        "list", "--store", &store, "--json", "--limit", "1",
    ]));
    assert_eq!(limited.len(), 1);
    assert!(
        json_lines(&inbox(&[
            "list", "--store", &store, "--state", "pending", "--json"
        ]))
        .is_empty()
    );

    // show: every field, the body pretty-printed.
    let shown = inbox(&["show", "dead-1", "--store", &store]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let text = stdout(&shown);
    for field in [
        "key",
        "state",
        "attempts",
        "event",
        "run_id",
        "received_at",
        "next_at",
        "lease_until",
        "finished_at",
        "last_error",
        "drift",
        "body",
    ] {
        assert!(
            text.lines().any(|line| line.starts_with(field)),
            "{field}: {text}"
        );
    }
    assert!(
        text.contains("  \"run_id\": \"dead-1\""),
        "pretty-printed: {text}"
    );
    let json = json_lines(&inbox(&["show", "dead-1", "--store", &store, "--json"]));
    assert_eq!(json[0]["body"]["run_id"], "dead-1");
    assert_eq!(json[0]["drift"], serde_json::json!([]));
    let missing = inbox(&["show", "nope", "--store", &store]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no row"), "{}", stderr(&missing));

    // The app is fixed: replay one, then the rest; both are delivered.
    app.answer(200);
    let replayed = inbox(&["replay", "dead-1", "--store", &store]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    assert_eq!(stdout(&replayed), "replayed dead-1\n");
    let forwarded = next_attempt(&relay);
    assert_eq!(forwarded["kind"], "forwarded", "{forwarded}");
    assert_eq!(
        (forwarded["key"].as_str(), forwarded["status"].as_u64()),
        (Some("dead-1"), Some(200))
    );
    assert_eq!(
        forwarded["attempt"], 1,
        "attempts count from 1 again after a replay"
    );
    assert!(forwarded["error"].is_null());
    let again = inbox(&["replay", "dead-1", "--store", &store]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("is done, not dead"),
        "{}",
        stderr(&again)
    );
    let absent = inbox(&["replay", "nope", "--store", &store]);
    assert_eq!(absent.status.code(), Some(1));
    assert!(stderr(&absent).contains("no row"), "{}", stderr(&absent));
    let all = inbox(&["replay", "--all-dead", "--store", &store]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    assert_eq!(stdout(&all), "replayed dead-2\nreplayed 1 dead row(s)\n");
    assert_eq!(next_attempt(&relay)["kind"], "forwarded");
    let delivered = app.delivered();
    assert_eq!(
        (delivered.get("dead-1"), delivered.get("dead-2")),
        (Some(&1), Some(&1))
    );
    assert_eq!(
        app.body("dead-1").unwrap(),
        completed("dead-1").into_bytes()
    );

    // A done row is replayed with --force: forwarded again, and its page of attempts shows each
    // series (refused, delivered after the replay, delivered again after the forced one).
    let forced = inbox(&["replay", "dead-1", "--force", "--store", &store]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert_eq!(stdout(&forced), "replayed dead-1\n");
    let forwarded = next_attempt(&relay);
    assert_eq!(
        (forwarded["key"].as_str(), forwarded["attempt"].as_u64()),
        (Some("dead-1"), Some(1)),
        "{forwarded}"
    );
    assert_eq!(app.delivered().get("dead-1"), Some(&2));
    let shown = json_lines(&inbox(&["show", "dead-1", "--json", "--store", &store]));
    let row = &shown[0];
    assert_eq!(row["replays"], 2, "{row}");
    let series: Vec<(u64, &str)> = row["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| {
            (
                attempt["series"].as_u64().unwrap(),
                attempt["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(series, [(0, "dead"), (1, "done"), (2, "done")], "{row}");

    // purge: done rows older than the duration.
    let kept = inbox(&["purge", "--done-before", "72h", "--store", &store]);
    assert_eq!(kept.status.code(), Some(0), "{}", stderr(&kept));
    assert!(
        stdout(&kept).starts_with("purged 0 done row(s)"),
        "{}",
        stdout(&kept)
    );
    std::thread::sleep(Duration::from_millis(20));
    let purged = inbox(&["purge", "--done-before", "0s", "--store", &store]);
    assert!(
        stdout(&purged).starts_with("purged 2 done row(s)"),
        "{}",
        stdout(&purged)
    );
    assert!(json_lines(&inbox(&["list", "--store", &store, "--json"])).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_name_each_attempt_and_a_silent_app_times_out() {
    let app = App::start(7, 0.0).await;
    app.answer(503);
    let relay = Listen::start_with(
        &["--forward-to", &app.url, "--retry-base-ms", "300"],
        &[],
        Stdio::null(),
    );
    deliver(&relay.url, "text-1").await;
    assert!(relay.next_line().starts_with("accepted"));
    let failed = relay.next_line();
    assert!(
        failed.starts_with("forward_failed 503 run.completed run text-1 (attempt 1, ")
            && failed.contains("the app answered 503 Service Unavailable; next attempt at "),
        "{failed}"
    );
    app.answer(200);
    let mut line = relay.next_line();
    for _ in 0..100 {
        // While the app answers 503 the target may go down (and come back): skipped too.
        if !line.starts_with("forward_failed") && !line.starts_with("target_") {
            break;
        }
        line = relay.next_line();
    }
    assert!(
        line.starts_with("forwarded      200 run.completed run text-1 (attempt "),
        "{line}"
    );

    // An app that accepts the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let relay = Listen::start_with(
        &[
            "--json",
            "--forward-to",
            &silent_url,
            "--forward-timeout-ms",
            "300",
        ],
        &[],
        Stdio::null(),
    );
    deliver(&relay.url, "silent-1").await;
    let timed_out = next_attempt(&relay);
    assert_eq!(timed_out["kind"], "forward_failed", "{timed_out}");
    assert!(timed_out["status"].is_null());
    assert!(timed_out["next_at"].is_string());
    assert_eq!(timed_out["error"], "the app did not answer within 300 ms");
}

/// The app's `Retry-After` sets the relay's next attempt, in place of its schedule (here 100 ms):
/// in seconds, or as an HTTP date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_from_the_app_sets_the_next_attempt() {
    let app = App::start(7, 0.0).await;
    app.answer(429);
    let relay = Listen::start_with(
        &["--json", "--forward-to", &app.url, "--retry-base-ms", "100"],
        &[],
        Stdio::null(),
    );
    let in_five = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let weekday = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        [usize::from(in_five.weekday().number_days_from_monday())];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::from(u8::from(in_five.month())) - 1];
    let http_date = format!(
        "{weekday}, {:02} {month} {} {:02}:{:02}:{:02} GMT",
        in_five.day(),
        in_five.year(),
        in_five.hour(),
        in_five.minute(),
        in_five.second()
    );
    for (key, header, wait) in [("wait-1", "3".to_owned(), 3.0), ("wait-2", http_date, 5.0)] {
        app.retry_after(Some(&header));
        deliver(&relay.url, key).await;
        let failed = next_attempt(&relay);
        let answered = time::OffsetDateTime::now_utc();
        assert_eq!(failed["kind"], "forward_failed", "{failed}");
        assert_eq!(failed["status"], 429, "{failed}");
        let next_at = time::OffsetDateTime::parse(
            failed["next_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let waits = (next_at - answered).as_seconds_f64();
        // Whole seconds on the wire, and the line is read a little after the answer.
        assert!(
            (wait - 1.5..=wait + 0.5).contains(&waits),
            "Retry-After {header}: the next attempt is {waits:.2} s away: {failed}"
        );
        assert!(
            failed["error"].as_str().unwrap().contains("Retry-After"),
            "{failed}"
        );
    }
}

fn listen_output(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(["listen", "--addr", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_bad_target_or_a_store_without_an_inbox_is_a_usage_error_at_start() {
    for (args, message) in [
        (
            &["--forward-to", "http://10.0.0.1/hook"][..],
            "--forward-to",
        ),
        (
            &["--forward-to", "http://app.example.com/hook"][..],
            "plain http",
        ),
        (
            &["--forward-to", "https://169.254.169.254/latest"][..],
            "--forward-to",
        ),
        (
            &["--forward-to", "ftp://127.0.0.1/hook"][..],
            "--forward-to",
        ),
        (
            &[
                "--forward-to",
                "http://127.0.0.1:9/hook",
                "--store",
                "redis://127.0.0.1:6379",
            ][..],
            "the inbox needs sqlite: or postgres://",
        ),
        (
            &[
                "--forward-to",
                "http://127.0.0.1:9/hook",
                "--store",
                "sqlite:/nonexistent-dir/x.db",
            ][..],
            "cannot use the inbox",
        ),
        (&["--forward-timeout-ms", "100"][..], "--forward-to"),
        (&["--concurrency", "4"][..], "--forward-to"),
    ] {
        let output = listen_output(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "no listening line for {args:?}");
    }
}

#[test]
fn a_memory_inbox_is_allowed_with_a_loud_warning() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let relay = Listen::start_with(
        &["--forward-to", "http://127.0.0.1:9/hook"],
        &[],
        Stdio::from(log.reopen().unwrap()),
    );
    let (status, _) = relay.stop("-TERM");
    assert!(status.success());
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    assert!(stderr.contains("WARNING: --store memory"), "{stderr}");
    assert!(stderr.contains("lost when it stops or crashes"), "{stderr}");
    assert!(
        stderr.contains("runhook: forwarding to http://127.0.0.1:9/hook"),
        "{stderr}"
    );
}

#[test]
fn inbox_commands_refuse_stores_without_an_inbox_and_bad_options() {
    for args in [
        &["list", "--store", "memory"][..],
        &["list", "--store", "redis://127.0.0.1:6379"][..],
        &["list", "--store", "mysql://x"][..],
        &["list", "--store", "sqlite:/nonexistent-dir/x.db"][..],
        &["list", "--state", "stuck", "--store", "memory"][..],
        &["purge", "--done-before", "3 weeks"][..],
        &["replay"][..],
        &["replay", "k", "--all-dead"][..],
    ] {
        let output = inbox(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn inbox_commands_on_a_missing_sqlite_file_name_it_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let store = format!("sqlite:{}", path.display());
    for args in [
        &["list", "--store", store.as_str()][..],
        &["show", "some-key", "--store", store.as_str()][..],
        &["replay", "--all-dead", "--store", store.as_str()][..],
        &["purge", "--done-before", "72h", "--store", store.as_str()][..],
    ] {
        let output = inbox(args);
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("no such file"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!path.exists(), "{args:?}: the file was created");
    }
}

/// `inbox retry --pending`: waiting rows due now, by filter, with a usage error naming an
/// unknown filter; `inbox replay` of a pending row points to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_pending_makes_waiting_rows_due_and_replay_points_to_it() {
    let app = App::start(7, 0.0).await;
    app.answer(503);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let relay = Listen::start_with(
        &[
            "--json",
            "--store",
            &store,
            "--forward-to",
            &app.url,
            "--retry-base-ms",
            "3600000",
        ],
        &[],
        Stdio::null(),
    );
    for run_id in ["wait-a-1", "wait-b-1"] {
        deliver(&relay.url, run_id).await;
        assert_eq!(next_attempt(&relay)["kind"], "forward_failed");
    }
    let (status, _) = relay.stop("-TERM");
    assert!(status.success());
    let next_at = |key: &str| {
        let rows = json_lines(&inbox(&["list", "--store", &store, "--json"]));
        let row = rows.iter().find(|row| row["key"] == key).unwrap().clone();
        time::OffsetDateTime::parse(
            row["next_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    assert!(next_at("wait-a-1") > later && next_at("wait-b-1") > later);

    let replay = inbox(&["replay", "wait-a-1", "--store", &store]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(
        stderr(&replay).contains("is pending, not dead")
            && stderr(&replay).contains("runhook inbox retry --pending --filter key=wait-a-1"),
        "{}",
        stderr(&replay)
    );

    let unknown = inbox(&[
        "retry",
        "--pending",
        "--filter",
        "status=FAILED",
        "--store",
        &store,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("unknown filter \"status\""),
        "{}",
        stderr(&unknown)
    );
    let retried = inbox(&[
        "retry",
        "--pending",
        "--filter",
        "run_id=wait-a",
        "--json",
        "--store",
        &store,
    ]);
    assert_eq!(retried.status.code(), Some(0), "{}", stderr(&retried));
    assert_eq!(
        json_lines(&retried),
        vec![serde_json::json!({"kind": "retried", "rows": 1})]
    );
    let now = time::OffsetDateTime::now_utc();
    assert!(next_at("wait-a-1") <= now);
    assert!(next_at("wait-b-1") > later, "another run's row was moved");

    let all = inbox(&["retry", "--pending", "--store", &store]);
    assert_eq!(stdout(&all).trim(), "made 1 waiting pending row(s) due now");
    let missing = inbox(&["retry", "--store", &store]);
    assert_eq!(missing.status.code(), Some(2), "--pending is required");
}
