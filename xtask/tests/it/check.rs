//! `cargo xtask check` as tests: the repository's fixtures pass, and broken ones are caught.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

#[test]
fn repository_fixtures_pass_every_check() {
    let report = xtask::check(&repo_root());
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        report.valid_fixtures >= 15,
        "only {} valid fixtures",
        report.valid_fixtures
    );
    assert!(
        report.invalid_fixtures >= 25,
        "only {} invalid fixtures",
        report.invalid_fixtures
    );
    assert!(report.retry_vectors >= 15, "{}", report.retry_vectors);
    assert!(report.inbox_vectors >= 30, "{}", report.inbox_vectors);
}

/// A copy of the repository's schema, with fixtures of our choosing.
fn scratch_repo(valid: &[(&str, &str)], invalid: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = dir.path().join("docs/schema");
    fs::create_dir_all(&schema).unwrap();
    for name in ["webhook.schema.json", "run.schema.json"] {
        fs::copy(
            repo_root().join("docs/schema").join(name),
            schema.join(name),
        )
        .unwrap();
    }
    for (sub, files) in [("fixtures/valid", valid), ("fixtures/invalid", invalid)] {
        let folder = dir.path().join(sub);
        fs::create_dir_all(&folder).unwrap();
        for (name, text) in files {
            fs::write(folder.join(name), text).unwrap();
        }
    }
    dir
}

const GOOD: &str = r#"{"event":"run.failed","run_id":"run-2","status":"FAILED",
  "data":{"error":{"message":"Site blocked access","category":"AGENT_FAILURE"},"result":null}}"#;

#[test]
fn broken_fixtures_are_all_reported_with_file_and_pointer() {
    let mismatched = r#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#;
    let bad_types = r#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
      "data":{"steps":[{"id":"s1","timestamp":"2026-03-25T10:30:05Z","status":"COMPLETED","duration":12}]}}"#;
    // Claims the schema alone rejects it, but the typed parser rejects it too.
    let mislabelled = r#"{"why":"bad id","rejected_by":["schema"],
      "at_run_time":{"lenient":"reject","strict":"reject"},
      "payload":{"event":"run.failed","run_id":"a b","status":"FAILED","data":{}}}"#;
    // Claims to be invalid but is fine.
    let not_invalid = format!(
        r#"{{"why":"nothing wrong","rejected_by":["schema"],
          "at_run_time":{{"lenient":"accept","strict":"accept"}},"payload":{GOOD}}}"#
    );
    let wrong_pointer = r#"{"why":"mismatch","rejected_by":["consistency"],"pointer":"/status",
      "at_run_time":{"lenient":"reject","strict":"reject"},
      "payload":{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"run_id":"r2"}}}"#;
    let repo = scratch_repo(
        &[
            ("01-good.json", GOOD),
            ("02-mismatch.json", mismatched),
            ("03-types.json", bad_types),
        ],
        &[
            ("01-mislabelled.json", mislabelled),
            ("02-not-invalid.json", &not_invalid),
            ("03-pointer.json", wrong_pointer),
            ("04-garbage.json", "[1, 2"),
        ],
    );
    let report = xtask::check(repo.path());
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let text = lines.join("\n");
    assert!(!report.is_clean());
    assert_eq!((report.valid_fixtures, report.invalid_fixtures), (3, 4));
    for expected in [
        "fixtures/valid/02-mismatch.json#/status: schema:",
        "fixtures/valid/02-mismatch.json#/status: consistency check:",
        "fixtures/valid/03-types.json#/data/steps/0/duration: schema:",
        "fixtures/valid/03-types.json#/data/steps/0/duration: parse check:",
        "fixtures/invalid/01-mislabelled.json#/rejected_by: declared rejected_by [schema] but it is rejected by [schema, parse]",
        "fixtures/invalid/02-not-invalid.json#/rejected_by: declared rejected_by [schema] but it is rejected by nothing",
        "fixtures/invalid/03-pointer.json#/pointer: the runtime check points at \"/data/run_id\"",
        "fixtures/invalid/04-garbage.json#: not an invalid-fixture wrapper",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("01-good.json"),
        "a good fixture was reported:\n{text}"
    );
}

#[test]
fn wrong_run_time_expectations_are_reported() {
    let drift = r#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
      "data":{"num_of_steps":"3","goal":"g"}}"#;
    let envelope = r#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#;
    let wrapper = |pointer: &str, lenient: &str, strict: &str, payload: &str| {
        format!(
            r#"{{"why":"w","rejected_by":["schema","parse"],"pointer":"{pointer}",
              "at_run_time":{{"lenient":"{lenient}","strict":"{strict}"}},"payload":{payload}}}"#
        )
    };
    let right = wrapper("/data/num_of_steps", "accept", "reject", drift);
    // Drift is accepted in lenient mode, not refused.
    let lenient_wrong = wrapper("/data/num_of_steps", "reject", "reject", drift);
    // Drift is refused in strict mode, not accepted.
    let strict_wrong = wrapper("/data/num_of_steps", "accept", "accept", drift);
    // The envelope is refused in lenient mode too.
    let envelope_wrong = wrapper("/status", "accept", "reject", envelope)
        .replace(r#"["schema","parse"]"#, r#"["schema","consistency"]"#);
    let missing = r#"{"why":"w","rejected_by":["schema","parse"],"pointer":"/data/num_of_steps",
      "payload":{"event":"run.completed","run_id":"r1","status":"COMPLETED","data":{"num_of_steps":"3"}}}"#;
    let repo = scratch_repo(
        &[("01-good.json", GOOD)],
        &[
            ("01-right.json", &right),
            ("02-lenient.json", &lenient_wrong),
            ("03-strict.json", &strict_wrong),
            ("04-envelope.json", &envelope_wrong),
            ("05-missing.json", missing),
        ],
    );
    let report = xtask::check(repo.path());
    let text = report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "fixtures/invalid/02-lenient.json#/at_run_time/lenient: declared lenient \"reject\" but receive (lenient) does \"accept\"",
        "fixtures/invalid/03-strict.json#/at_run_time/strict: declared strict \"accept\" but receive (strict) does \"reject\"",
        "fixtures/invalid/04-envelope.json#/at_run_time/lenient: declared lenient \"accept\" but receive (lenient) does \"reject\"",
        "fixtures/invalid/05-missing.json#: not an invalid-fixture wrapper",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("01-right.json"),
        "a right fixture was reported:\n{text}"
    );
    let fixture_problems = report
        .problems
        .iter()
        .filter(|p| p.file.starts_with("fixtures/invalid"))
        .count();
    assert_eq!(fixture_problems, 4, "{text}");
}

#[test]
fn a_lenient_accept_must_report_drift_at_the_fixture_pointer() {
    let payload = r#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
      "data":{"num_of_steps":"3","goal":"g"}}"#;
    // The runtime's strict check and the schema both point at num_of_steps; claim goal instead.
    let elsewhere = format!(
        r#"{{"why":"w","rejected_by":["schema","parse"],"pointer":"/data/goal",
          "at_run_time":{{"lenient":"accept","strict":"reject"}},"payload":{payload}}}"#
    );
    // A schema-only fixture (no pointer) must not drift at run time.
    let no_pointer = format!(
        r#"{{"why":"w","rejected_by":["schema"],
          "at_run_time":{{"lenient":"accept","strict":"accept"}},"payload":{payload}}}"#
    );
    let repo = scratch_repo(
        &[("01-good.json", GOOD)],
        &[
            ("01-elsewhere.json", &elsewhere),
            ("02-no-pointer.json", &no_pointer),
        ],
    );
    let text = xtask::check(repo.path())
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "fixtures/invalid/01-elsewhere.json#/pointer: receive (lenient) accepted the payload but reported no drift problem at \"/data/goal\" (it reported [\"/data/num_of_steps\"])",
        "fixtures/invalid/02-no-pointer.json#/at_run_time/lenient: receive (lenient) reported drift but the fixture has no pointer",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn an_empty_fixture_folder_is_a_failure() {
    let repo = scratch_repo(&[("01-good.json", GOOD)], &[]);
    let report = xtask::check(repo.path());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("no fixtures found")),
        "{:?}",
        report.problems
    );
}

#[test]
fn the_binary_exits_non_zero_on_problems() {
    let repo = scratch_repo(
        &[(
            "01-bad.json",
            r#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#,
        )],
        &[],
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["check", "--root"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fixtures/valid/01-bad.json#/status"),
        "{stderr}"
    );
}

#[test]
fn the_repository_retry_vectors_pass_and_cover_the_table() {
    let mut report = xtask::Report::default();
    let cases = xtask::vectors::check_retry(&repo_root(), &mut report);
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(cases >= 15, "only {cases} retry vectors");
}

#[test]
fn broken_retry_vectors_are_reported_with_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("fixtures/vectors");
    fs::create_dir_all(&folder).unwrap();
    let vectors = r#"[
      {"name": "good", "policy": "tinyfish", "results": [{"status": 503}, {"status": 200}],
       "expect": {"attempts": 2, "waits_ms": [1000], "outcome": "delivered", "status": 200}},
      {"name": "wrong wait", "policy": "tinyfish", "results": [{"status": 503}, {"status": 200}],
       "expect": {"attempts": 2, "waits_ms": [2000], "outcome": "delivered", "status": 200}},
      {"name": "429 is not retried by TinyFish", "policy": "tinyfish",
       "results": [{"status": 429}, {"status": 200}],
       "expect": {"attempts": 2, "waits_ms": [1000], "outcome": "delivered", "status": 200}},
      {"name": "jitter range too narrow", "policy": "standard",
       "results": [{"status": 503}, {"status": 200}],
       "expect": {"attempts": 2, "waits_ms": [[1000, 1000]], "outcome": "delivered", "status": 200}},
      {"name": "bad shape", "policy": "fast", "results": [{"status": 503, "network": "tls"}],
       "expect": {"attempts": 1, "waits_ms": ["1s"], "outcome": "maybe", "colour": "red"}}
    ]"#;
    fs::write(folder.join("retry.json"), vectors).unwrap();
    let mut report = xtask::Report::default();
    assert_eq!(xtask::vectors::check_retry(dir.path(), &mut report), 5);
    let text = report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "fixtures/vectors/retry.json#/1/expect/waits_ms/0: the wait was 1s, expected 2000 to 2000 ms",
        "fixtures/vectors/retry.json#/2/results/1: never used: the delivery ended after attempt 1",
        "fixtures/vectors/retry.json#/2/expect/attempts: the delivery made 1 attempt(s), expected 2",
        "fixtures/vectors/retry.json#/2/expect/outcome: the outcome was Failed",
        "fixtures/vectors/retry.json#/3/expect/waits_ms/0: the wait was",
        "fixtures/vectors/retry.json#/4/policy: the policy must be \"tinyfish\" or \"standard\"",
        "fixtures/vectors/retry.json#/4/results/0: a result has exactly one of status, network or timeout",
        "fixtures/vectors/retry.json#/4/expect/waits_ms/0: a wait is milliseconds",
        "fixtures/vectors/retry.json#/4/expect/outcome: the outcome must be",
        "fixtures/vectors/retry.json#/4/expect/colour: unknown field",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("#/0/"), "a good case was reported:\n{text}");
}

#[test]
fn missing_vectors_are_a_failure() {
    type Check = fn(&Path, &mut xtask::Report) -> usize;
    let checks: [(&str, Check); 2] = [
        ("retry", xtask::vectors::check_retry),
        ("inbox", xtask::vectors::check_inbox),
    ];
    for (what, check) in checks {
        let dir = tempfile::tempdir().unwrap();
        let mut report = xtask::Report::default();
        assert_eq!(check(dir.path(), &mut report), 0);
        let expected = format!("fixtures/vectors/{what}.json#: cannot read the {what} vectors");
        assert!(
            report.problems[0].to_string().starts_with(&expected),
            "{:?}",
            report.problems
        );
    }
}

#[test]
fn broken_inbox_vectors_are_reported_with_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("fixtures/vectors");
    fs::create_dir_all(&folder).unwrap();
    let case = |name: &str, policy: &str, attempts: u32, result: &str, expect: &str| {
        format!(
            r#"{{"name": "{name}", "policy": "{policy}", "give_up_after_s": 3600,
                "entry": {{"key": "r1", "attempts": {attempts}, "received_at_s": 0}},
                "now_s": 10, "result": {result}, "expect": {expect}}}"#
        )
    };
    let failed = r#"{"outcome": "failed", "error": "db down"}"#;
    let cases = [
        case(
            "good",
            "tinyfish",
            1,
            failed,
            r#"{"settlement": "retry", "wait_ms": 1000, "error": "db down", "seed": "597e37d6aab68cea"}"#,
        ),
        case(
            "wrong wait",
            "tinyfish",
            2,
            failed,
            r#"{"settlement": "retry", "wait_ms": 1000, "error": "db down"}"#,
        ),
        case(
            "out of attempts",
            "tinyfish",
            4,
            failed,
            r#"{"settlement": "retry", "wait_ms": 1000, "error": "db down"}"#,
        ),
        case(
            "wrong wait",
            "tinyfish",
            4,
            failed,
            r#"{"settlement": "dead", "error": "db down"}"#,
        ),
        case(
            "wrong seed",
            "tinyfish",
            1,
            failed,
            r#"{"settlement": "retry", "wait_ms": 1000, "error": "db down", "seed": "0000000000000000"}"#,
        ),
        case("bad policy", "fast", 1, failed, r#"{"settlement": "done"}"#),
        case(
            "bad shape",
            "inbox",
            1,
            r#"{"outcome": "succeeded", "retry_after_s": 3}"#,
            r#"{"settlement": "done", "wait_ms": 5}"#,
        ),
        case(
            "good",
            "inbox",
            1,
            r#"{"outcome": "succeeded", "colour": "red"}"#,
            r#"{"settlement": "done"}"#,
        ),
    ];
    fs::write(folder.join("inbox.json"), format!("[{}]", cases.join(","))).unwrap();
    let mut report = xtask::Report::default();
    assert_eq!(xtask::vectors::check_inbox(dir.path(), &mut report), 8);
    let text = report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "fixtures/vectors/inbox.json#/1/expect/wait_ms: the wait was 2s, expected 1000 to 1000 ms",
        "fixtures/vectors/inbox.json#/2/expect/settlement: the settlement was Dead",
        "fixtures/vectors/inbox.json#/3/expect/error: the error was Some(\"gave up after 4 attempts: db down\")",
        "fixtures/vectors/inbox.json#/4/expect/seed: the seed was 597e37d6aab68cea",
        "fixtures/vectors/inbox.json#/5/policy: unknown variant `fast`",
        "fixtures/vectors/inbox.json#/6/result/retry_after_s: only a failure carries retry_after_s",
        "fixtures/vectors/inbox.json#/6/expect/wait_ms: a retry has a wait_ms, and only a retry",
        "fixtures/vectors/inbox.json#/7/result/colour: unknown field `colour`",
        "fixtures/vectors/inbox.json#/3/name: the name \"wrong wait\" is used twice",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(!text.contains("#/0/"), "a good case was reported:\n{text}");
}
