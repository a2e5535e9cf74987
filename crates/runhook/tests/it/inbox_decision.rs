//! The inbox's decision (`runhook::inbox::decide_attempt`): the shared vectors
//! (`fixtures/vectors/inbox.json`, which `cargo xtask check` runs too) and property tests of its
//! invariants.
//!
//! A vector's times are seconds after 2026-03-25T10:30:00Z; its wait is the settlement's `at`
//! minus `now`, in milliseconds, exact or an inclusive `[low, high]` range (for jitter).

use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use runhook::delivery::RetryPolicy;
use runhook::inbox::{
    Attempted, InboxEntry, InboxPolicy, NewInboxEntry, Settlement, decide_attempt, jitter_seed,
};
use runhook::store::IdempotencyKey;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: String,
    give_up_after_s: Option<u64>,
    entry: EntrySpec,
    now_s: u64,
    result: ResultSpec,
    expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    key: String,
    attempts: u32,
    received_at_s: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultSpec {
    outcome: String,
    error: Option<String>,
    retry_after_s: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum WaitSpec {
    Exact(u64),
    Range([u64; 2]),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    settlement: String,
    wait_ms: Option<WaitSpec>,
    error: Option<String>,
    seed: Option<String>,
}

/// 2026-03-25T10:30:00Z, the origin of a vector's times.
fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600 + secs)
}

fn preset(name: &str) -> RetryPolicy {
    match name {
        "tinyfish" => RetryPolicy::tinyfish(),
        "standard" => RetryPolicy::standard(),
        "inbox" => RetryPolicy::inbox(),
        other => panic!("unknown policy {other:?}"),
    }
}

fn entry(key: &str, attempts: u32, received_at: SystemTime) -> InboxEntry {
    let record = NewInboxEntry::new(IdempotencyKey::new(key), "run.completed", received_at, "{}");
    let mut entry = InboxEntry::pending(record);
    entry.attempts = attempts;
    entry
}

impl Case {
    fn policy(&self) -> InboxPolicy {
        let give_up = self
            .give_up_after_s
            .map_or(InboxPolicy::DEFAULT_GIVE_UP_AFTER, Duration::from_secs);
        InboxPolicy::new(preset(&self.policy), give_up)
    }

    fn entry(&self) -> InboxEntry {
        let spec = &self.entry;
        entry(&spec.key, spec.attempts, t(spec.received_at_s))
    }

    fn attempted(&self) -> Attempted {
        let result = &self.result;
        let error = || {
            result
                .error
                .clone()
                .expect("a failure or rejection has an error")
        };
        match (result.outcome.as_str(), result.retry_after_s) {
            ("succeeded", None) => Attempted::Succeeded,
            ("failed", None) => Attempted::failed(error()),
            ("failed", Some(secs)) => Attempted::failed_asking(error(), Duration::from_secs(secs)),
            ("rejected", None) => Attempted::rejected(error()),
            other => panic!("{}: no such result {other:?}", self.name),
        }
    }

    fn decide(&self) -> Settlement {
        decide_attempt(
            &self.policy(),
            &self.entry(),
            t(self.now_s),
            self.attempted(),
        )
    }
}

fn load() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vectors/inbox.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every difference between what `settlement` is and what `case` expects.
fn problems(case: &Case, settlement: &Settlement) -> Vec<String> {
    let expect = &case.expect;
    let mut found = Vec::new();
    let now = t(case.now_s);
    let (kind, error) = match settlement {
        Settlement::Done => ("done", None),
        Settlement::Retry { error, at } => {
            let wait = at.duration_since(now).unwrap_or_default();
            let (low, high) = match &expect.wait_ms {
                Some(WaitSpec::Exact(ms)) => (*ms, *ms),
                Some(WaitSpec::Range([low, high])) => (*low, *high),
                None => (u64::MAX, u64::MAX),
            };
            let range = Duration::from_millis(low)..=Duration::from_millis(high);
            if *at < now || !range.contains(&wait) {
                found.push(format!(
                    "retry at {at:?}: a wait of {wait:?}, expected {range:?}"
                ));
            }
            ("retry", Some(error))
        }
        Settlement::Dead { error } => ("dead", Some(error)),
        other => panic!("unknown settlement {other:?}"),
    };
    if kind != expect.settlement {
        found.push(format!("settled {kind}, expected {}", expect.settlement));
    }
    if error != expect.error.as_ref() {
        found.push(format!("error {error:?}, expected {:?}", expect.error));
    }
    if let Some(seed) = &expect.seed {
        let actual = format!(
            "{:016x}",
            jitter_seed(&case.entry().key, case.entry.attempts)
        );
        if actual != *seed {
            found.push(format!("seed {actual}, expected {seed}"));
        }
    }
    found
}

#[test]
fn every_inbox_vector_holds() {
    let cases = load();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let settlement = case.decide();
        assert_eq!(
            settlement,
            case.decide(),
            "{}: not deterministic",
            case.name
        );
        for problem in problems(case, &settlement) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_vectors_cover_every_rule() {
    let cases = load();
    let has = |test: &dyn Fn(&Case) -> bool| cases.iter().any(test);
    let asks = |c: &Case, policy: &str, test: &dyn Fn(u64) -> bool| {
        c.policy == policy && c.result.retry_after_s.is_some_and(test)
    };
    assert!(has(&|c| c.expect.settlement == "done"));
    assert!(has(&|c| c.expect.settlement == "retry"));
    assert!(has(&|c| c.result.outcome == "rejected"));
    assert!(has(&|c| c.expect.seed.is_some()));
    let at_limit = |c: &Case| c.entry.attempts == preset(&c.policy).max_attempts();
    assert!(has(&|c| at_limit(c) && c.result.outcome == "failed"));
    let young = |c: &Case| c.entry.attempts < preset(&c.policy).max_attempts();
    assert!(has(&|c| young(c) && c.expect.settlement == "dead"));
    for policy in ["tinyfish", "standard", "inbox"] {
        let cap = preset(policy)
            .retry_after_cap()
            .map_or(0, |cap| cap.as_secs());
        assert!(has(&|c| asks(c, policy, &|s| s == 0)), "{policy}: 0");
        assert!(
            has(&|c| asks(c, policy, &|s| s > cap)),
            "{policy}: above the cap"
        );
    }
}

#[test]
fn a_wrong_expectation_is_caught() {
    let cases = load();
    let case = cases
        .iter()
        .find(|c| c.name.starts_with("the inbox preset's first retry"))
        .unwrap();
    let settlement = case.decide();
    assert!(problems(case, &settlement).is_empty());
    let corrupt = |edit: &dyn Fn(&mut Expect)| {
        let mut case = case.clone();
        edit(&mut case.expect);
        problems(&case, &settlement)
    };
    assert!(!corrupt(&|e| e.settlement = "dead".into()).is_empty());
    assert!(!corrupt(&|e| e.wait_ms = Some(WaitSpec::Range([0, 749]))).is_empty());
    assert!(!corrupt(&|e| e.error = Some("other".into())).is_empty());
    assert!(!corrupt(&|e| e.seed = Some("0000000000000000".into())).is_empty());
}

fn any_preset() -> impl Strategy<Value = RetryPolicy> {
    prop_oneof![
        Just(RetryPolicy::tinyfish()),
        Just(RetryPolicy::standard()),
        Just(RetryPolicy::inbox()),
    ]
}

fn any_result() -> impl Strategy<Value = Attempted> {
    prop_oneof![
        Just(Attempted::Succeeded),
        "[a-z ]{0,12}".prop_map(Attempted::failed),
        ("[a-z ]{0,12}", 0u64..10_000)
            .prop_map(|(e, s)| Attempted::failed_asking(e, Duration::from_secs(s))),
        "[a-z ]{0,12}".prop_map(Attempted::rejected),
    ]
}

proptest! {
    #[test]
    fn the_next_time_is_never_before_now_and_the_decision_is_deterministic(
        retry in any_preset(), give_up in 1u64..400_000, key in "[a-z0-9-]{1,16}",
        attempts in 0u32..=120, age in 0u64..400_000, result in any_result(),
    ) {
        let policy = InboxPolicy::new(retry, Duration::from_secs(give_up));
        let row = entry(&key, attempts, t(0));
        let now = t(age);
        let settlement = decide_attempt(&policy, &row, now, result.clone());
        prop_assert_eq!(&settlement, &decide_attempt(&policy, &row, now, result.clone()));
        if let Settlement::Retry { at, .. } = &settlement {
            prop_assert!(*at >= now);
            prop_assert!(*at <= t(give_up), "past the age limit");
        }
        match result {
            Attempted::Succeeded => prop_assert_eq!(settlement, Settlement::Done),
            Attempted::Rejected { error } => prop_assert_eq!(settlement, Settlement::Dead { error }),
            _ => prop_assert!(!matches!(settlement, Settlement::Done)),
        }
    }

    #[test]
    fn a_failure_is_dead_exactly_at_the_attempt_limit(
        retry in any_preset(), key in "[a-z0-9-]{1,16}", asked in proptest::option::of(0u64..10_000),
    ) {
        // Time enough that the age limit never decides: only the attempts do.
        let policy = InboxPolicy::new(retry.clone(), RetryPolicy::MAX_DURATION * 200);
        let limit = retry.max_attempts();
        for attempts in 1..=limit {
            let result = Attempted::Failed { error: "e".into(), retry_after: asked.map(Duration::from_secs) };
            let settlement = decide_attempt(&policy, &entry(&key, attempts, t(0)), t(0), result);
            let dead = matches!(settlement, Settlement::Dead { .. });
            prop_assert_eq!(dead, attempts == limit, "attempt {} of {}", attempts, limit);
        }
    }

    #[test]
    fn the_wait_is_the_longer_of_the_schedule_and_the_capped_retry_after(
        retry in any_preset(), key in "[a-z0-9-]{1,16}", attempts in 1u32..4, asked in 0u64..10_000,
    ) {
        let policy = InboxPolicy::new(retry.clone(), RetryPolicy::MAX_DURATION);
        let row = entry(&key, attempts, t(0));
        let wait = |result| match decide_attempt(&policy, &row, t(0), result) {
            Settlement::Retry { at, .. } => at.duration_since(t(0)).unwrap(),
            other => panic!("{other:?}"),
        };
        let scheduled = wait(Attempted::failed("e"));
        let (low, high) = retry.wait_bounds(attempts).unwrap();
        prop_assert!(scheduled >= low && scheduled <= high);
        let asked = Duration::from_secs(asked);
        let expected = match retry.retry_after_cap() {
            Some(cap) => asked.min(cap).max(scheduled),
            None => scheduled,
        };
        prop_assert_eq!(wait(Attempted::failed_asking("e", asked)), expected);
    }
}
