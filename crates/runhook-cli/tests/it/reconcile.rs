//! The reconciler end to end, through the real binary and the emulator: runs whose webhooks
//! never arrived (the receiver was down, or the network dropped them) are recovered by sweeps
//! of the runs API, each processed exactly once (`listen --reconcile-every`, `runhook
//! reconcile`).

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::app::App;
use crate::support::emulate::{Emulate, KEY};
use crate::support::listen::{Listen, client};
use crate::support::relay::free_port;
use crate::support::{self, json_lines, postgres_url, stderr};

/// Creates one run per goal through `POST /v1/automation/run-batch` (100 at a time), each
/// delivering its webhook to `webhook_url`; their ids, in order.
async fn create_runs(emulate: &Emulate, webhook_url: &str, goals: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in goals.chunks(100) {
        let runs: Vec<Value> = chunk
            .iter()
            .map(|goal| json!({"url": "https://example.com", "goal": goal, "webhook_url": webhook_url}))
            .collect();
        let (status, answer) = emulate
            .post("/v1/automation/run-batch", &json!({ "runs": runs }))
            .await;
        assert_eq!(status, 200, "{answer}");
        for id in answer["run_ids"].as_array().unwrap() {
            ids.push(id.as_str().unwrap().to_owned());
        }
    }
    ids
}

/// The runs whose webhook delivery has ended (given up or delivered), per the emulator.
async fn deliveries_ended(emulate: &Emulate) -> BTreeSet<String> {
    let text = client()
        .get(format!("{}/_emulator/deliveries", emulate.base))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let records: Value = serde_json::from_str(&text).unwrap();
    let records = records
        .as_array()
        .cloned()
        .or_else(|| records["deliveries"].as_array().cloned())
        .unwrap_or_default();
    records
        .iter()
        .filter(|record| !record["outcome"].is_null())
        .map(|record| record["run_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the webhooks of every run in `runs` have ended.
async fn wait_for_webhooks(emulate: &Emulate, runs: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ended = deliveries_ended(emulate).await;
        if runs.iter().all(|run| ended.contains(run)) {
            return;
        }
        assert!(Instant::now() < deadline, "webhooks still going");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// listen's JSON lines as they come, until `done` holds for what was read (or `patience`
/// passes: a failure).
fn read_until(
    listen: &Listen,
    lines: &mut Vec<Value>,
    patience: Duration,
    done: impl Fn(&[Value]) -> bool,
) {
    let deadline = Instant::now() + patience;
    while !done(lines) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "not done after {patience:?}; read {} lines",
            lines.len()
        );
        if let Some(line) = listen.line_within(left.min(Duration::from_millis(500))) {
            lines.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}")));
        }
    }
}

/// Per run id, how many deliveries were accepted (processed, or stored by a relay), and by
/// which source.
fn accepted(lines: &[Value]) -> HashMap<String, Vec<String>> {
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    for line in lines.iter().filter(|line| line["kind"] == "accepted") {
        runs.entry(line["run_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(line["source"].as_str().unwrap().to_owned());
    }
    runs
}

/// The sweeps' lines.
fn sweeps(lines: &[Value]) -> Vec<&Value> {
    lines
        .iter()
        .filter(|line| line["kind"] == "reconcile_sweep")
        .collect()
}

/// The environment that points the reconciler at the emulator.
fn api_env(emulate: &Emulate) -> [(&'static str, String); 2] {
    [
        ("TINYFISH_API_KEY", KEY.to_owned()),
        ("TINYFISH_BASE_URL", emulate.base.clone()),
    ]
}

fn listen(args: &[&str], env: &[(&'static str, String)]) -> Listen {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Listen::spawn(args, &env, Stdio::null())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_longer_than_the_retries_gets_every_run_once_slow() {
    support::slow_test(
        "a_receiver_down_for_longer_than_the_retries_gets_every_run_once_slow",
        "20 s",
    );
    let _heavy = support::heavy().await;
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "10"]);
    let app = App::start(7, 0.0).await;
    let port = free_port();
    let webhook_url = format!("http://127.0.0.1:{port}/webhooks/tinyfish");
    // 100 runs end while nothing listens (0.1 s each at --speed 10: every webhook gives up),
    // 100 end 8 s after creation, once the receiver is back.
    let early: Vec<String> = (0..100)
        .map(|i| format!("early {i} [duration:1s]"))
        .collect();
    let late: Vec<String> = (0..100)
        .map(|i| format!("late {i} [duration:80s]"))
        .collect();
    let early = create_runs(&emulate, &webhook_url, &early).await;
    let late = create_runs(&emulate, &webhook_url, &late).await;
    wait_for_webhooks(&emulate, &early).await;
    let ended = deliveries_ended(&emulate).await;
    assert!(
        late.iter().all(|run| !ended.contains(run)),
        "late runs ended too soon"
    );

    // The receiver comes back: a relay to the app, sweeping every 2 s.
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("relay.db").display());
    let addr = format!("127.0.0.1:{port}");
    let relay = listen(
        &[
            "--addr",
            &addr,
            "--store",
            &store,
            "--forward-to",
            &app.url,
            "--json",
            "--reconcile-every",
            "2s",
        ],
        &api_env(&emulate),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while app.delivered().len() < 200 {
        assert!(
            Instant::now() < deadline,
            "the app has {} runs",
            app.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Two more sweeps, for any duplicate to show.
    let mut lines = Vec::new();
    read_until(&relay, &mut lines, Duration::from_secs(30), |lines| {
        sweeps(lines).len() >= 2 && accepted(lines).len() == 200
    });
    let (_, rest) = relay.stop("-TERM");
    lines.extend(
        rest.iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok()),
    );

    // The app: 200 distinct runs, each once.
    let delivered = app.delivered();
    let all: BTreeSet<&String> = early.iter().chain(&late).collect();
    assert_eq!(delivered.len(), 200);
    assert!(delivered.keys().all(|run| all.contains(run)));
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    // The relay: each run stored once; every early run recovered by a sweep.
    let stored = accepted(&lines);
    assert_eq!(stored.len(), 200);
    assert!(
        stored.values().all(|sources| sources.len() == 1),
        "{stored:?}"
    );
    for run in &early {
        assert_eq!(stored[run], ["reconciler"], "{run}");
    }
    let recovered = stored.values().filter(|s| s[0] == "reconciler").count();
    let by_webhook = stored.values().filter(|s| s[0] == "webhook").count();
    eprintln!(
        "down receiver: 200 runs, {recovered} recovered by sweeps, {by_webhook} by webhook, \
         {} sweeps, app saw {} distinct runs, none twice",
        sweeps(&lines).len(),
        delivered.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_dropped_for_good_and_a_long_run_are_recovered_exactly_slow() {
    support::slow_test(
        "webhooks_dropped_for_good_and_a_long_run_are_recovered_exactly_slow",
        "10 s",
    );
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "10"]);
    let receiver = listen(
        &[
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--json",
            "--reconcile-every",
            "3s",
        ],
        &api_env(&emulate),
    );
    // 30 % of the webhooks are dropped for good (4 dropped attempts of 4); one more run takes
    // 4 s and its webhook is dropped too: a sweep sees it in progress, a later one ended.
    let goals: Vec<String> = (0..20)
        .map(|i| match i % 10 {
            0 | 3 | 6 => format!("partition {i} [duration:1s] [webhook:drop=4]"),
            _ => format!("partition {i} [duration:1s]"),
        })
        .chain(["long [duration:40s] [webhook:drop=4]".to_owned()])
        .collect();
    let ids = create_runs(&emulate, &receiver.url, &goals).await;
    let dropped: BTreeSet<String> = ids
        .iter()
        .zip(&goals)
        .filter(|(_, goal)| goal.contains("drop=4"))
        .map(|(id, _)| id.clone())
        .collect();
    let long = ids.last().unwrap().clone();
    assert_eq!(dropped.len(), 7);

    let mut lines = Vec::new();
    read_until(&receiver, &mut lines, Duration::from_secs(60), |lines| {
        accepted(lines).len() == 21
    });
    // One more sweep, for a second processing to show if there were one.
    let sweeps_so_far = sweeps(&lines).len();
    read_until(&receiver, &mut lines, Duration::from_secs(30), |lines| {
        sweeps(lines).len() > sweeps_so_far
    });
    let processed = accepted(&lines);
    assert!(
        processed.values().all(|sources| sources.len() == 1),
        "{processed:?}"
    );
    let recovered: BTreeSet<String> = processed
        .iter()
        .filter(|(_, sources)| sources[0] == "reconciler")
        .map(|(run, _)| run.clone())
        .collect();
    assert_eq!(
        recovered, dropped,
        "the sweeps recover exactly the dropped runs"
    );
    // The long run was watched while in progress, and recovered off the watch list.
    let all_sweeps = sweeps(&lines);
    let watched_at = all_sweeps
        .iter()
        .position(|sweep| sweep["watched"].as_u64().unwrap() >= 1)
        .expect("a sweep watched the long run");
    let recovering = all_sweeps
        .iter()
        .position(|sweep| {
            sweep["recovered"]
                .as_array()
                .unwrap()
                .iter()
                .any(|run| run == long.as_str())
        })
        .expect("a sweep recovered the long run");
    assert!(recovering > watched_at);
    assert!(all_sweeps[recovering]["unwatched"].as_u64().unwrap() >= 1);
    assert_eq!(all_sweeps.last().unwrap()["watching"], 0);
    eprintln!(
        "partition: 21 runs, {} webhooks dropped for good, {} recovered by sweeps, none twice; \
         the long run watched at sweep {watched_at} and recovered at sweep {recovering}",
        dropped.len(),
        recovered.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_sweep_one_at_a_time_and_process_each_run_once_slow() {
    support::slow_test(
        "two_replicas_on_postgres_sweep_one_at_a_time_and_process_each_run_once_slow",
        "70 s",
    );
    let Some(url) = postgres_url() else { return };
    let _heavy = support::heavy().await;
    let schema = format!("reconcile_{}", uuid::Uuid::new_v4().simple());
    let store = support::in_schema(&url, &schema);
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "10"]);
    let env = api_env(&emulate);
    let args = |_: usize| {
        vec![
            "--addr",
            "127.0.0.1:0",
            "--store",
            store.as_str(),
            "--json",
            "--reconcile-every",
            "1s",
        ]
    };
    let replicas = [listen(&args(0), &env), listen(&args(1), &env)];
    // For a minute, each second: a run for each replica, every third with its webhook dropped.
    let mut ids = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(60) {
        for replica in &replicas {
            let goal = if n % 3 == 0 {
                format!("replicas {n} [duration:1s] [webhook:drop=4]")
            } else {
                format!("replicas {n} [duration:1s]")
            };
            ids.extend(create_runs(&emulate, &replica.url, &[goal]).await);
            n += 1;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Until every run is processed, then a few more sweeps.
    let mut lines: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (replica, lines) in replicas.iter().zip(lines.iter_mut()) {
            while let Some(line) = replica.line_within(Duration::from_millis(50)) {
                lines.push(serde_json::from_str(&line).unwrap());
            }
        }
        let all: Vec<Value> = lines.concat();
        if accepted(&all).len() == ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} processed",
            accepted(&all).len(),
            ids.len()
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (replica, lines) in replicas.into_iter().zip(lines.iter_mut()) {
        let (_, rest) = replica.stop("-TERM");
        lines.extend(
            rest.iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok()),
        );
    }
    let all: Vec<Value> = lines.concat();
    let processed = accepted(&all);
    assert_eq!(processed.len(), ids.len());
    let twice: Vec<_> = processed.iter().filter(|(_, s)| s.len() != 1).collect();
    assert!(twice.is_empty(), "processed more than once: {twice:?}");
    let recovered = processed.values().filter(|s| s[0] == "reconciler").count();
    // The sweeps that ran (not skipped), from both replicas: none overlaps another.
    // Compared as instants: as text, `…:38Z` (a whole second) sorts after `…:38.427Z`.
    let instant = |value: &Value| {
        time::OffsetDateTime::parse(
            value.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let mut ran: Vec<(time::OffsetDateTime, time::OffsetDateTime, u64)> = sweeps(&all)
        .into_iter()
        .filter(|sweep| sweep["skipped"] == false)
        .map(|sweep| {
            (
                instant(&sweep["started_at"]),
                instant(&sweep["finished_at"]),
                sweep["pid"].as_u64().unwrap(),
            )
        })
        .collect();
    ran.sort();
    for pair in ran.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping sweeps: {pair:?}");
    }
    let skipped = sweeps(&all).iter().filter(|s| s["skipped"] == true).count();
    assert!(ran.len() >= 30, "{} sweeps ran", ran.len());
    assert!(skipped >= 30, "{skipped} sweeps were skipped for the lease");
    eprintln!(
        "two replicas: {} runs, each processed once ({recovered} recovered by sweeps); {} \
         sweeps ran, none overlapping, {skipped} skipped for the lease",
        ids.len(),
        ran.len()
    );
    support::drop_schema(&url, &schema).await;
}

/// `runhook reconcile ARGS` with the API at `emulate`.
fn reconcile(emulate: &Emulate, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_runhook"))
        .arg("reconcile")
        .args(args)
        .env_remove("RUST_LOG")
        .envs(api_env(emulate))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_waits_out_429s_and_a_dry_run_changes_nothing() {
    // Half the reads are answered 429 with Retry-After: 1.
    let emulate = Emulate::start(&[
        "--allow-http-loopback",
        "--speed",
        "10",
        "--throttle-reads",
        "0.5",
        "--throttle-retry-after",
        "1",
    ]);
    // Nothing listens: every webhook is lost.
    let nowhere = format!("http://127.0.0.1:{}/webhooks/tinyfish", free_port());
    let goals: Vec<String> = (0..12).map(|i| format!("lost {i} [duration:1s]")).collect();
    let ids = create_runs(&emulate, &nowhere, &goals).await;
    wait_for_webhooks(&emulate, &ids).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("runhook.db").display());
    let expected: BTreeSet<String> = ids.iter().cloned().collect();

    let dry = reconcile(&emulate, &["--store", &store, "--dry-run", "--json"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let lines = json_lines(&dry);
    assert!(accepted(&lines).is_empty(), "a dry run processes nothing");
    let sweep = sweeps(&lines)[0].clone();
    assert_eq!(sweep["dry_run"], true);
    let listed: BTreeSet<String> = serde_json::from_value(sweep["recovered"].clone()).unwrap();
    assert_eq!(listed, expected);

    let real = reconcile(&emulate, &["--store", &store, "--json"]);
    assert_eq!(real.status.code(), Some(0), "{}", stderr(&real));
    let lines = json_lines(&real);
    let processed = accepted(&lines);
    assert_eq!(processed.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(processed.values().all(|s| s == &["reconciler"]));
    // The emulator answered some of the reconciler's reads 429; the sweep waited and finished.
    emulate.lines_until("/v1/runs?created_after=");
    let throttled = emulate.lines_until(" 429 ");
    assert!(!throttled.is_empty());

    let again = reconcile(&emulate, &["--store", &store, "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let lines = json_lines(&again);
    assert!(accepted(&lines).is_empty());
    let sweep = sweeps(&lines)[0].clone();
    assert_eq!(sweep["recovered"], json!([]));
    // The overlap lists them again: seen, not processed.
    assert_eq!(sweep["seen"], 12);
    eprintln!(
        "rate limit: 12 runs recovered through reads half answered 429; the next sweep saw 12, \
         recovered 0"
    );
}

#[test]
fn the_reconciler_without_an_api_key_is_a_usage_error_naming_the_variable() {
    for args in [
        vec![
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--reconcile-every",
            "2s",
        ],
        vec!["reconcile", "--store", "memory"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env_remove("TINYFISH_API_KEY")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        assert!(message.contains("TINYFISH_API_KEY"), "{args:?}: {message}");
        assert!(support::stdout(&output).is_empty(), "{args:?}");
    }
    // Redis keeps no watermark: refused at start, with the reason.
    let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args([
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "redis://127.0.0.1:6379",
            "--reconcile-every",
            "2s",
        ])
        .env_remove("RUST_LOG")
        .env("TINYFISH_API_KEY", "k")
        .env("TINYFISH_BASE_URL", "http://127.0.0.1:9")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("Redis keeps idempotency keys only"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_into_the_inbox_stores_rows_marked_as_recovered() {
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "10"]);
    let nowhere = format!("http://127.0.0.1:{}/webhooks/tinyfish", free_port());
    let goals: Vec<String> = (0..3)
        .map(|i| format!("to the inbox {i} [duration:1s]"))
        .collect();
    let ids = create_runs(&emulate, &nowhere, &goals).await;
    wait_for_webhooks(&emulate, &ids).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("relay.db").display());
    let output = reconcile(&emulate, &["--store", &store, "--inbox", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(accepted(&json_lines(&output)).len(), 3);
    // Stored, not processed: pending rows for the relay, each marked as recovered.
    let rows = crate::support::relay::pending(&store);
    let stored: BTreeSet<String> = rows
        .iter()
        .map(|row| row["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, ids.iter().cloned().collect());
    assert!(
        rows.iter().all(|row| row["source"] == "reconciler"),
        "{rows:?}"
    );
}
