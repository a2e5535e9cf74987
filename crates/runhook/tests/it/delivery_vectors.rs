//! The shared retry vectors (`fixtures/vectors/retry.json`) run through `Delivery` on a virtual
//! clock. `cargo xtask check` runs the same file.
//!
//! The driver: every status or network result is fed the instant its attempt is sent; a
//! `{"timeout": true}` result is never fed, and the clock jumps to the attempt's deadline, where
//! the machine records the timeout itself. A `retry_after` header is parsed as if the response
//! arrived at 2015-10-21T07:28:00Z.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use runhook::delivery::{
    AttemptResult, Delivery, DeliveryAction, DeliveryOutcome, NetworkErrorKind, RetryPolicy,
    parse_retry_after,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: String,
    results: Vec<ResultSpec>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultSpec {
    status: Option<u16>,
    retry_after_s: Option<u64>,
    retry_after: Option<String>,
    network: Option<String>,
    timeout: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WaitSpec {
    Exact(u64),
    Range([u64; 2]),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    attempts: u32,
    waits_ms: Vec<WaitSpec>,
    outcome: String,
    status: Option<u16>,
    last: Option<ResultSpec>,
    elapsed_ms: Option<u64>,
}

/// The wall-clock instant `retry_after` headers are read at: 2015-10-21T07:28:00Z.
fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_445_412_480)
}

/// The origin of the virtual clock: any instant will do, and the clock is never read again.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

/// The result a spec describes; `None` for a timeout (nothing is fed).
fn result_of(spec: &ResultSpec) -> Option<AttemptResult> {
    if spec.timeout == Some(true) {
        return None;
    }
    if let Some(kind) = &spec.network {
        return Some(AttemptResult::Network(
            NetworkErrorKind::from_name(kind).unwrap_or_else(|| panic!("network kind {kind:?}")),
        ));
    }
    let status = spec
        .status
        .expect("a result has a status, network or timeout");
    let retry_after = match (&spec.retry_after_s, &spec.retry_after) {
        (Some(secs), None) => Some(Duration::from_secs(*secs)),
        (None, Some(header)) => parse_retry_after(header, wall()),
        (None, None) => None,
        (Some(_), Some(_)) => panic!("retry_after_s and retry_after together"),
    };
    Some(AttemptResult::Response {
        status,
        retry_after,
    })
}

fn policy(name: &str) -> RetryPolicy {
    match name {
        "tinyfish" => RetryPolicy::tinyfish(),
        "standard" => RetryPolicy::standard(),
        other => panic!("unknown policy {other:?}"),
    }
}

fn load() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vectors/retry.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs a case; returns the finished delivery and the time from creation to its outcome, or a
/// description of what went wrong.
fn run(case: &Case, seed: u64) -> Result<(Delivery, Duration), String> {
    let start = origin();
    let mut now = start;
    let mut delivery = Delivery::with_seed(policy(&case.policy), seed, start);
    let mut results = case.results.iter();
    for _ in 0..100 {
        match delivery.poll_action(now) {
            DeliveryAction::Send { attempt, .. } => {
                let spec = results.next().ok_or_else(|| {
                    format!("attempt {attempt} was sent but the case has no result left for it")
                })?;
                if let Some(result) = result_of(spec) {
                    delivery.handle_result(now, result);
                }
            }
            DeliveryAction::WaitUntil(t) => now = t,
            DeliveryAction::Done(_) => {
                let left = results.count();
                if left > 0 {
                    return Err(format!("the delivery ended with {left} result(s) unused"));
                }
                return Ok((delivery, now - start));
            }
            other => return Err(format!("unexpected output {other:?}")),
        }
    }
    Err("no outcome after 100 polls".to_owned())
}

/// Every difference between a finished run and the case's expectations.
fn problems(case: &Case, delivery: &Delivery, elapsed: Duration) -> Vec<String> {
    let mut found = Vec::new();
    let expect = &case.expect;
    let log = delivery.attempts();
    if log.len() != expect.attempts as usize {
        found.push(format!(
            "{} attempts, expected {}",
            log.len(),
            expect.attempts
        ));
    }
    let waits: Vec<Duration> = log.iter().filter_map(|r| r.next_wait).collect();
    if waits.len() != expect.waits_ms.len() {
        found.push(format!("waits {waits:?}, expected {:?}", expect.waits_ms));
    }
    for (wait, spec) in waits.iter().zip(&expect.waits_ms) {
        let (low, high) = match spec {
            WaitSpec::Exact(ms) => (*ms, *ms),
            WaitSpec::Range([low, high]) => (*low, *high),
        };
        let (low, high) = (Duration::from_millis(low), Duration::from_millis(high));
        if !(low..=high).contains(wait) {
            found.push(format!("wait {wait:?} outside [{low:?}, {high:?}]"));
        }
    }
    for pair in log.windows(2) {
        let due = pair[0].ended.unwrap() + pair[0].next_wait.unwrap();
        if pair[1].started != due {
            found.push(format!("attempt {} started off its time", pair[1].attempt));
        }
    }
    let outcome = delivery.outcome().cloned();
    match (expect.outcome.as_str(), &outcome) {
        ("delivered", Some(DeliveryOutcome::Delivered { attempts, status })) => {
            if Some(*status) != expect.status || *attempts != expect.attempts {
                found.push(format!("outcome {outcome:?}"));
            }
        }
        ("failed", Some(DeliveryOutcome::Failed { attempts, last })) => {
            let expected_last = match (&expect.last, expect.status) {
                (Some(spec), _) => result_of(spec).unwrap_or(AttemptResult::Timeout),
                (None, Some(status)) => match last {
                    AttemptResult::Response { retry_after, .. } => AttemptResult::Response {
                        status,
                        retry_after: *retry_after,
                    },
                    _ => AttemptResult::status(status),
                },
                (None, None) => panic!("{}: a failed case names its last result", case.name),
            };
            if *last != expected_last || *attempts != expect.attempts {
                found.push(format!(
                    "outcome {outcome:?}, expected last {expected_last:?}"
                ));
            }
        }
        (expected, _) => found.push(format!("outcome {outcome:?}, expected {expected}")),
    }
    if let Some(ms) = expect.elapsed_ms
        && elapsed != Duration::from_millis(ms)
    {
        found.push(format!("took {elapsed:?}, expected {ms} ms"));
    }
    found
}

#[test]
fn every_retry_vector_holds() {
    let cases = load();
    assert!(cases.len() >= 15, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        // Jittered waits must stay in their range whatever the seed.
        for seed in 0..16 {
            match run(case, seed) {
                Ok((delivery, elapsed)) => {
                    for problem in problems(case, &delivery, elapsed) {
                        failures.push(format!("{} (seed {seed}): {problem}", case.name));
                    }
                }
                Err(e) => failures.push(format!("{} (seed {seed}): {e}", case.name)),
            }
        }
    }
    failures.dedup();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_vectors_cover_the_whole_table() {
    let cases = load();
    let has = |policy: &str, test: &dyn Fn(&ResultSpec) -> bool| {
        cases
            .iter()
            .any(|c| c.policy == policy && c.results.iter().any(test))
    };
    let status = |range: std::ops::RangeInclusive<u16>| {
        move |r: &ResultSpec| r.status.is_some_and(|s| range.contains(&s))
    };
    for policy in ["tinyfish", "standard"] {
        for code in [408, 429] {
            assert!(has(policy, &status(code..=code)), "{code} under {policy}");
        }
        assert!(has(policy, &|r| r.retry_after_s.is_some()), "{policy}");
    }
    for (name, range) in [
        ("1xx", 100..=199),
        ("2xx", 200..=299),
        ("3xx", 300..=399),
        ("4xx", 400..=499),
        ("5xx", 500..=599),
    ] {
        assert!(has("tinyfish", &status(range)), "{name}");
    }
    assert!(has("tinyfish", &|r| r.network.is_some()));
    assert!(has("tinyfish", &|r| r.timeout == Some(true)));
    assert!(has("standard", &|r| r.retry_after.is_some()));
}

#[test]
fn a_wrong_expectation_is_caught() {
    // The checker itself must be able to fail: corrupt each kind of expectation.
    let case = load()
        .into_iter()
        .find(|c| c.name.starts_with("4 x 5xx"))
        .unwrap();
    let (delivery, elapsed) = run(&case, 0).unwrap();
    assert!(problems(&case, &delivery, elapsed).is_empty());
    let corrupt = |edit: &dyn Fn(&mut Expect)| {
        let mut case = load()
            .into_iter()
            .find(|c| c.name.starts_with("4 x 5xx"))
            .unwrap();
        edit(&mut case.expect);
        problems(&case, &delivery, elapsed)
    };
    assert!(!corrupt(&|e| e.attempts = 3).is_empty());
    assert!(!corrupt(&|e| e.waits_ms[1] = WaitSpec::Exact(2001)).is_empty());
    assert!(!corrupt(&|e| e.waits_ms[2] = WaitSpec::Range([0, 3999])).is_empty());
    assert!(!corrupt(&|e| e.outcome = "delivered".into()).is_empty());
    assert!(!corrupt(&|e| e.status = Some(503)).is_empty());
    assert!(!corrupt(&|e| e.elapsed_ms = Some(6999)).is_empty());
}
