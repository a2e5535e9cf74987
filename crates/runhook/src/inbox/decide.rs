//! The one decision of an inbox: what a row becomes after one attempt on it.
//!
//! Pure: the time is an argument and the jitter comes from a seed derived here from the row, so
//! the same row, attempt, result and time give the same settlement wherever it is computed (a
//! worker in this process, one in another, a test, the shared vectors).

use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{InboxEntry, InboxPolicy, Settlement};
use crate::HandlerOutcome;
use crate::store::IdempotencyKey;

/// What one attempt on an inbox row came to, as the worker saw it: the input of
/// [`decide_attempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attempted {
    /// Processed: the row becomes done.
    Succeeded,
    /// A transient failure (the handler's `Retry`, a panic, the attempt timeout, an app's 5xx):
    /// the row is tried again on the policy's schedule, or dead once the policy gives up.
    Failed {
        /// What went wrong, kept as the row's last error.
        error: String,
        /// A wait the other side asked for (an HTTP `Retry-After`), if it asked: the next
        /// attempt comes no sooner than that (capped) nor sooner than the schedule, as the
        /// policy's [`RetryAfterRule`](crate::delivery::RetryAfterRule) says.
        retry_after: Option<Duration>,
    },
    /// Refused for good (the handler's `Reject`, a stored body that no longer parses): the row is
    /// dead at once.
    Rejected {
        /// Why, kept as the row's last error.
        error: String,
    },
}

impl Attempted {
    /// [`Attempted::Failed`] without a wait asked for.
    pub fn failed(error: impl Into<String>) -> Self {
        Attempted::Failed {
            error: error.into(),
            retry_after: None,
        }
    }

    /// [`Attempted::Failed`] after which the other side asked for a wait of `retry_after`.
    pub fn failed_asking(error: impl Into<String>, retry_after: Duration) -> Self {
        Attempted::Failed {
            error: error.into(),
            retry_after: Some(retry_after),
        }
    }

    /// [`Attempted::Rejected`].
    pub fn rejected(error: impl Into<String>) -> Self {
        Attempted::Rejected {
            error: error.into(),
        }
    }
}

impl From<HandlerOutcome> for Attempted {
    /// A handler's outcome as an attempt's result: `Ok` succeeded, `Retry` failed (its reason is
    /// the error), `Reject` rejected (`the handler rejected the event: <reason>`).
    fn from(outcome: HandlerOutcome) -> Self {
        match outcome {
            HandlerOutcome::Ok => Attempted::Succeeded,
            HandlerOutcome::Retry { reason } => Attempted::failed(reason),
            HandlerOutcome::Reject { reason } => {
                Attempted::rejected(format!("the handler rejected the event: {reason}"))
            }
        }
    }
}

/// The settlement of an attempt on `entry` (its `attempts` counts this attempt) that ended at
/// `now` with `attempted`:
///
/// | `attempted` | the settlement |
/// |---|---|
/// | `Succeeded` | `Done` |
/// | `Rejected { error }` | `Dead { error }` |
/// | `Failed`, attempts left and the next time within `give_up_after` of receipt | `Retry { at, error }` |
/// | `Failed`, otherwise | `Dead { error: "gave up after N attempts: <error>" }` |
///
/// The next time `at` is `now` plus the wait of [`InboxPolicy::retry_at`]: the schedule's wait
/// before retry `attempts`, its jitter drawn from [`jitter_seed`] of the key and the attempt,
/// lengthened to the `Retry-After` the other side asked for when the policy honours it. It is
/// never before `now`. Pure: the same arguments always give the same settlement.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use runhook::delivery::RetryPolicy;
/// use runhook::inbox::{decide_attempt, Attempted, InboxEntry, InboxPolicy, NewInboxEntry, Settlement};
/// use runhook::store::IdempotencyKey;
///
/// let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
/// let record = NewInboxEntry::new(IdempotencyKey::new("r1"), "run.completed", received, &b"{}"[..]);
/// let mut entry = InboxEntry::pending(record);
/// entry.attempts = 1;
/// let policy = InboxPolicy::new(RetryPolicy::tinyfish(), Duration::from_secs(3600));
///
/// let settlement = decide_attempt(&policy, &entry, received, Attempted::failed("db down"));
/// let at = received + Duration::from_secs(1); // TinyFish's first wait: 1 s, no jitter
/// assert_eq!(settlement, Settlement::Retry { at, error: "db down".into() });
///
/// entry.attempts = 4; // TinyFish makes 4 attempts
/// let settlement = decide_attempt(&policy, &entry, received, Attempted::failed("db down"));
/// let error = "gave up after 4 attempts: db down".to_owned();
/// assert_eq!(settlement, Settlement::Dead { error });
/// ```
pub fn decide_attempt(
    policy: &InboxPolicy,
    entry: &InboxEntry,
    now: SystemTime,
    attempted: Attempted,
) -> Settlement {
    match attempted {
        Attempted::Succeeded => Settlement::Done,
        Attempted::Rejected { error } => Settlement::Dead { error },
        Attempted::Failed { error, retry_after } => {
            let seed = jitter_seed(&entry.key, entry.attempts);
            let next = policy.retry_at(entry.attempts, entry.received_at, now, retry_after, seed);
            match next {
                Some(at) => Settlement::Retry { at, error },
                None => Settlement::Dead {
                    error: format!("gave up after {} attempts: {error}", entry.attempts),
                },
            }
        }
    }
}

/// The jitter seed of attempt `attempt` (1-based) of the row `key`: the first 8 bytes, big-endian,
/// of the SHA-256 of the key's bytes followed by the attempt as 4 big-endian bytes. Rows that fail
/// together get different seeds and spread out; one row's attempt gets the same seed, and so the
/// same next time, wherever it is computed.
///
/// ```
/// use runhook::inbox::jitter_seed;
/// use runhook::store::IdempotencyKey;
///
/// let key = IdempotencyKey::new("run-1");
/// assert_eq!(jitter_seed(&key, 2), jitter_seed(&key, 2));
/// assert_ne!(jitter_seed(&key, 2), jitter_seed(&key, 3));
/// ```
pub fn jitter_seed(key: &IdempotencyKey, attempt: u32) -> u64 {
    let digest = Sha256::new()
        .chain_update(key.as_str().as_bytes())
        .chain_update(attempt.to_be_bytes())
        .finalize();
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::RetryPolicy;
    use crate::inbox::NewInboxEntry;

    const SECOND: Duration = Duration::from_secs(1);

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600 + secs)
    }

    fn entry(key: &str, attempts: u32) -> InboxEntry {
        let record =
            NewInboxEntry::new(IdempotencyKey::new(key), "run.completed", t(0), &b"{}"[..]);
        let mut entry = InboxEntry::pending(record);
        entry.attempts = attempts;
        entry
    }

    #[test]
    fn handler_outcomes_map_to_results() {
        assert_eq!(Attempted::from(HandlerOutcome::Ok), Attempted::Succeeded);
        assert_eq!(
            Attempted::from(HandlerOutcome::retry("busy")),
            Attempted::failed("busy")
        );
        assert_eq!(
            Attempted::from(HandlerOutcome::reject("unknown account")),
            Attempted::rejected("the handler rejected the event: unknown account")
        );
    }

    #[test]
    fn success_is_done_and_a_rejection_dead_whatever_the_attempt() {
        let policy = InboxPolicy::default();
        for attempts in [1, 50, 100] {
            let row = entry("k", attempts);
            let done = decide_attempt(&policy, &row, t(5), Attempted::Succeeded);
            assert_eq!(done, Settlement::Done);
            let dead = decide_attempt(&policy, &row, t(5), Attempted::rejected("no"));
            assert_eq!(dead, Settlement::Dead { error: "no".into() });
        }
    }

    #[test]
    fn the_seed_is_the_one_rows_have_always_had() {
        // The first 8 bytes of SHA-256("r1" ‖ 00 00 00 01), computed independently.
        assert_eq!(
            jitter_seed(&IdempotencyKey::new("r1"), 1),
            0x597e_37d6_aab6_8cea
        );
    }

    #[test]
    fn a_retry_after_lengthens_the_wait_under_the_inbox_preset() {
        let policy = InboxPolicy::default();
        let row = entry("k", 1);
        let asked = |secs| Attempted::failed_asking("429", SECOND * secs);
        let at = |settlement| match settlement {
            Settlement::Retry { at, .. } => at,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(decide_attempt(&policy, &row, t(10), asked(30))), t(40));
        assert_eq!(
            at(decide_attempt(&policy, &row, t(10), asked(7200))),
            t(3610)
        );
        let scheduled = at(decide_attempt(
            &policy,
            &row,
            t(10),
            Attempted::failed("429"),
        ));
        assert_eq!(
            at(decide_attempt(&policy, &row, t(10), asked(0))),
            scheduled
        );
        let tinyfish = InboxPolicy::new(RetryPolicy::tinyfish(), SECOND * 3600);
        assert_eq!(at(decide_attempt(&tinyfish, &row, t(10), asked(30))), t(11));
    }
}
