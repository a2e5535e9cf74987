//! The shared inbox vectors (`fixtures/vectors/inbox.json`), run through the core's
//! `decide_attempt`.
//!
//! The file is a JSON list of cases: a policy preset, a row, what its attempt came to, the time,
//! and the settlement expected.
//!
//! ```json
//! { "name": "a failure under the limit retries", "policy": "tinyfish" | "standard" | "inbox",
//!   "give_up_after_s": 3600,
//!   "entry": { "key": "r1", "attempts": 1, "received_at_s": 0 },
//!   "now_s": 10,
//!   "result": { "outcome": "succeeded" | "failed" | "rejected", "error": "db down",
//!               "retry_after_s": 30 },
//!   "expect": { "settlement": "done" | "retry" | "dead", "wait_ms": 1000 | [750, 1250],
//!               "error": "db down", "seed": "597e37d6aab68cea" } }
//! ```
//!
//! Times are seconds after 2026-03-25T10:30:00Z. `give_up_after_s` is optional (72 h, the
//! inbox's default). A failure or a rejection has an `error`; only a failure may carry the
//! `retry_after_s` the other side asked for. `wait_ms` (the settlement's time minus `now`, exact
//! or an inclusive range for jitter) goes with a retry only; `error` (the row's last error) with a
//! retry or a death. `seed`, optional, is the row's jitter seed for its attempt, as 16 hex digits.
//! Every case is decided twice and must give the same settlement both times.

use std::path::Path;
use std::time::{Duration, SystemTime};

use runhook::delivery::RetryPolicy;
use runhook::inbox::{
    Attempted, InboxEntry, InboxPolicy, NewInboxEntry, Settlement, decide_attempt, jitter_seed,
};
use runhook::store::IdempotencyKey;
use serde::Deserialize;
use serde_json::Value;

use super::{Problems, check_cases};
use crate::report::Report;

/// The inbox vectors, relative to the repository root.
pub const INBOX_VECTORS: &str = "fixtures/vectors/inbox.json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: Preset,
    give_up_after_s: Option<u64>,
    entry: EntrySpec,
    now_s: u64,
    result: ResultSpec,
    expect: Expect,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Preset {
    Tinyfish,
    Standard,
    Inbox,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    key: String,
    attempts: u32,
    received_at_s: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Succeeded,
    Failed,
    Rejected,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultSpec {
    outcome: Outcome,
    error: Option<String>,
    retry_after_s: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Done,
    Retry,
    Dead,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Wait {
    Exact(u64),
    Range([u64; 2]),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    settlement: Kind,
    wait_ms: Option<Wait>,
    error: Option<String>,
    seed: Option<String>,
}

/// 2026-03-25T10:30:00Z, the origin of a vector's times.
fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600 + secs)
}

/// Checks the inbox vectors under `root`, reporting every problem with its JSON pointer.
/// Returns the number of cases found.
pub fn check_inbox(root: &Path, report: &mut Report) -> usize {
    let file = Path::new(INBOX_VECTORS);
    check_cases(root, file, "inbox", report, |value, problems| {
        let case = parse(value, problems)?;
        run(&case, problems);
        Some(case.name)
    })
}

/// The case in `value`, its shape checked, or `None` after reporting what is wrong with it.
fn parse(value: &Value, problems: &mut Problems<'_>) -> Option<Case> {
    let case: Case = match serde_path_to_error::deserialize(value) {
        Ok(case) => case,
        Err(e) => {
            let pointer: String = e.path().iter().map(|s| format!("/{s}")).collect();
            problems.at(pointer, e.into_inner().to_string());
            return None;
        }
    };
    let result = &case.result;
    if (result.outcome == Outcome::Succeeded) != result.error.is_none() {
        problems.at(
            "/result/error",
            "a failure or a rejection has an error; a success has none",
        );
    }
    if result.outcome != Outcome::Failed && result.retry_after_s.is_some() {
        problems.at(
            "/result/retry_after_s",
            "only a failure carries retry_after_s",
        );
    }
    let expect = &case.expect;
    if (expect.settlement == Kind::Retry) != expect.wait_ms.is_some() {
        problems.at("/expect/wait_ms", "a retry has a wait_ms, and only a retry");
    }
    if let Some(Wait::Range([low, high])) = expect.wait_ms
        && low > high
    {
        problems.at("/expect/wait_ms", "a range is [low, high] with low <= high");
    }
    if (expect.settlement == Kind::Done) != expect.error.is_none() {
        problems.at(
            "/expect/error",
            "a retry or a death has the row's last error; done has none",
        );
    }
    if let Some(seed) = &expect.seed
        && (seed.len() != 16 || u64::from_str_radix(seed, 16).is_err())
    {
        problems.at("/expect/seed", "a seed is 16 hex digits");
    }
    (problems.count == 0).then_some(case)
}

/// Decides the case (twice) and reports every difference from what it expects.
fn run(case: &Case, problems: &mut Problems<'_>) {
    let retry = match case.policy {
        Preset::Tinyfish => RetryPolicy::tinyfish(),
        Preset::Standard => RetryPolicy::standard(),
        Preset::Inbox => RetryPolicy::inbox(),
    };
    let give_up = case
        .give_up_after_s
        .map_or(InboxPolicy::DEFAULT_GIVE_UP_AFTER, Duration::from_secs);
    let policy = InboxPolicy::new(retry, give_up);
    let spec = &case.entry;
    let key = IdempotencyKey::new(spec.key.as_str());
    let record = NewInboxEntry::new(key.clone(), "run.completed", at(spec.received_at_s), "{}");
    let mut entry = InboxEntry::pending(record);
    entry.attempts = spec.attempts;
    let error = case.result.error.clone().unwrap_or_default();
    let attempted = match (case.result.outcome, case.result.retry_after_s) {
        (Outcome::Succeeded, _) => Attempted::Succeeded,
        (Outcome::Failed, None) => Attempted::failed(error),
        (Outcome::Failed, Some(s)) => Attempted::failed_asking(error, Duration::from_secs(s)),
        (Outcome::Rejected, _) => Attempted::rejected(error),
    };
    let now = at(case.now_s);
    let settlement = decide_attempt(&policy, &entry, now, attempted.clone());
    if settlement != decide_attempt(&policy, &entry, now, attempted) {
        problems.at("", "the same case decided twice gave two settlements");
    }
    let expect = &case.expect;
    let (kind, error) = match &settlement {
        Settlement::Done => (Kind::Done, None),
        Settlement::Retry { at, error } => {
            let wait = at.duration_since(now).unwrap_or_default();
            let (low, high) = match expect.wait_ms {
                Some(Wait::Exact(ms)) => (ms, ms),
                Some(Wait::Range([low, high])) => (low, high),
                None => (0, u64::MAX),
            };
            if *at < now {
                problems.at("/expect/wait_ms", "the next time is before now");
            } else if !(Duration::from_millis(low)..=Duration::from_millis(high)).contains(&wait) {
                problems.at(
                    "/expect/wait_ms",
                    format!("the wait was {wait:?}, expected {low} to {high} ms"),
                );
            }
            (Kind::Retry, Some(error))
        }
        Settlement::Dead { error } => (Kind::Dead, Some(error)),
        other => {
            problems.at(
                "",
                format!("the core returned an unknown settlement {other:?}"),
            );
            return;
        }
    };
    if kind != expect.settlement {
        problems.at(
            "/expect/settlement",
            format!("the settlement was {settlement:?}"),
        );
    } else if error != expect.error.as_ref() {
        problems.at("/expect/error", format!("the error was {error:?}"));
    }
    let seed = format!("{:016x}", jitter_seed(&key, spec.attempts));
    if expect
        .seed
        .as_ref()
        .is_some_and(|expected| *expected != seed)
    {
        problems.at("/expect/seed", format!("the seed was {seed}"));
    }
}
