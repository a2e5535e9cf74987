//! The shared vectors: the retry vectors (`fixtures/vectors/retry.json`), run through the core's
//! `Delivery`, and the inbox vectors (`fixtures/vectors/inbox.json`, see [`check_inbox`]), run
//! through the core's `decide_attempt`.
//!
//! The file is a JSON list of cases:
//!
//! ```json
//! { "name": "5xx then 2xx", "policy": "tinyfish" | "standard",
//!   "results": [ {"status": 503}, {"status": 429, "retry_after_s": 3},
//!                {"status": 503, "retry_after": "<header value>"},
//!                {"network": "connect" | "tls" | "reset" | "body" | "other"}, {"timeout": true} ],
//!   "expect": { "attempts": 2, "waits_ms": [1000, [750, 1250]],
//!               "outcome": "delivered" | "failed", "status": 200,
//!               "last": {"network": "other"}, "elapsed_ms": 1000 } }
//! ```
//!
//! The driver runs on a virtual clock: a status or network result is fed the instant its attempt
//! is sent; a timeout is never fed, and the clock jumps to the deadline, where the machine records
//! it. A `retry_after` header is parsed as if received at 2015-10-21T07:28:00Z. A wait is a
//! number of milliseconds (exact) or `[low, high]` (inclusive, for jitter); every case runs with
//! several seeds. `status` is required when delivered; a failed case names its last result with
//! `status` (a response) or `last`. `elapsed_ms`, from creation to the outcome, is optional.

mod case;
mod inbox;

pub use inbox::{INBOX_VECTORS, check_inbox};

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use runhook::delivery::{AttemptResult, Delivery, DeliveryAction, DeliveryOutcome};
use serde_json::Value;

use crate::report::Report;
use case::{Case, parse_case};

/// The retry vectors, relative to the repository root.
pub const RETRY_VECTORS: &str = "fixtures/vectors/retry.json";

/// Seeds every case runs with: jittered waits must stay in range whatever the seed.
const SEEDS: u64 = 8;

/// Checks the retry vectors under `root`, reporting every problem with its JSON pointer.
/// Returns the number of cases found.
pub fn check_retry(root: &Path, report: &mut Report) -> usize {
    let file = Path::new(RETRY_VECTORS);
    check_cases(root, file, "retry", report, |value, problems| {
        let case = parse_case(value, problems)?;
        for seed in 0..SEEDS {
            if problems.count > 0 {
                break;
            }
            run_case(&case, seed, problems);
        }
        Some(case.name)
    })
}

/// Runs `check` on every case of the vector file `file` (the `what` vectors) under `root`, each
/// with the problems of its own pointer. `check` returns the case's name once it could read it;
/// a name used twice is reported. Returns the number of cases found.
fn check_cases(
    root: &Path,
    file: &Path,
    what: &str,
    report: &mut Report,
    mut check: impl FnMut(&Value, &mut Problems<'_>) -> Option<String>,
) -> usize {
    let Some(cases) = read_cases(root, file, what, report) else {
        return 0;
    };
    let mut names = BTreeSet::new();
    for (i, value) in cases.iter().enumerate() {
        let mut problems = Problems {
            file,
            base: format!("/{i}"),
            report: &mut *report,
            count: 0,
        };
        if let Some(name) = check(value, &mut problems)
            && !names.insert(name.clone())
        {
            problems.at("/name", format!("the name {name:?} is used twice"));
        }
    }
    cases.len()
}

/// The cases of the vector file `file` (the `what` vectors) under `root`: a JSON list, reported
/// when it cannot be read, is not a list or is empty.
fn read_cases(root: &Path, file: &Path, what: &str, report: &mut Report) -> Option<Vec<Value>> {
    let document = match fs::read_to_string(root.join(file)) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(document) => document,
            Err(e) => {
                report.problem(file, "", format!("not JSON: {e}"));
                return None;
            }
        },
        Err(e) => {
            report.problem(file, "", format!("cannot read the {what} vectors: {e}"));
            return None;
        }
    };
    let Value::Array(cases) = document else {
        report.problem(
            file,
            "",
            format!("the {what} vectors must be a JSON list of cases"),
        );
        return None;
    };
    if cases.is_empty() {
        report.problem(file, "", "no cases: a check over nothing proves nothing");
    }
    Some(cases)
}

/// Records problems under one case's pointer.
struct Problems<'a> {
    file: &'a Path,
    base: String,
    report: &'a mut Report,
    count: usize,
}

impl Problems<'_> {
    fn at(&mut self, pointer: impl AsRef<str>, message: impl Into<String>) {
        self.count += 1;
        self.report.problem(
            self.file,
            format!("{}{}", self.base, pointer.as_ref()),
            message,
        );
    }
}

fn run_case(case: &Case, seed: u64, problems: &mut Problems<'_>) {
    let start = Instant::now();
    let mut now = start;
    let mut delivery = Delivery::with_seed(case.policy.clone(), seed, start);
    let mut used = 0;
    let mut polls = 0;
    let outcome = loop {
        polls += 1;
        if polls > 1000 {
            problems.at("", "no outcome after 1000 polls: the core livelocked");
            return;
        }
        match delivery.poll_action(now) {
            DeliveryAction::Send { attempt, .. } => {
                let Some(scripted) = case.results.get(used) else {
                    problems.at(
                        "/results",
                        format!("attempt {attempt} was sent but no result is left for it"),
                    );
                    return;
                };
                used += 1;
                if let Some(result) = scripted {
                    delivery.handle_result(now, result.clone());
                }
            }
            DeliveryAction::WaitUntil(t) => now = t,
            DeliveryAction::Done(outcome) => break outcome,
            other => {
                problems.at("", format!("the core returned an unknown output {other:?}"));
                return;
            }
        }
    };
    let seed_note = if seed == 0 {
        String::new()
    } else {
        format!(" (seed {seed})")
    };
    if used < case.results.len() {
        problems.at(
            format!("/results/{used}"),
            format!("never used: the delivery ended after attempt {used}; remove the rest"),
        );
    }
    let log = delivery.attempts();
    if log.len() != case.attempts as usize {
        problems.at(
            "/expect/attempts",
            format!(
                "the delivery made {} attempt(s), expected {}",
                log.len(),
                case.attempts
            ),
        );
    }
    let waits: Vec<Duration> = log.iter().filter_map(|r| r.next_wait).collect();
    if waits.len() != case.waits_ms.len() {
        problems.at(
            "/expect/waits_ms",
            format!(
                "the delivery waited {} time(s) ({waits:?}), expected {}",
                waits.len(),
                case.waits_ms.len()
            ),
        );
    }
    for (j, (wait, (low, high))) in waits.iter().zip(&case.waits_ms).enumerate() {
        let range = Duration::from_millis(*low)..=Duration::from_millis(*high);
        if !range.contains(wait) {
            problems.at(
                format!("/expect/waits_ms/{j}"),
                format!("the wait was {wait:?}, expected {low} to {high} ms{seed_note}"),
            );
        }
    }
    match (&outcome, case.delivered) {
        (DeliveryOutcome::Delivered { status, .. }, true) if Some(*status) != case.status => {
            problems.at(
                "/expect/status",
                format!("delivered with status {status}, expected {:?}", case.status),
            )
        }
        (DeliveryOutcome::Failed { last, .. }, false) => {
            let matches = match (&case.last, case.status, last) {
                (Some(expected), _, last) => {
                    expected.as_ref().unwrap_or(&AttemptResult::Timeout) == last
                }
                (None, Some(expected), AttemptResult::Response { status, .. }) => {
                    expected == *status
                }
                _ => false,
            };
            if !matches {
                let pointer = if case.last.is_some() {
                    "/expect/last"
                } else {
                    "/expect/status"
                };
                problems.at(pointer, format!("failed with the last result {last:?}"));
            }
        }
        (DeliveryOutcome::Delivered { .. }, true) => {}
        (outcome, _) => problems.at("/expect/outcome", format!("the outcome was {outcome:?}")),
    }
    let elapsed = now - start;
    if let Some(ms) = case.elapsed_ms
        && elapsed != Duration::from_millis(ms)
    {
        problems.at(
            "/expect/elapsed_ms",
            format!("the delivery took {elapsed:?}, expected {ms} ms{seed_note}"),
        );
    }
}
