//! The reference model of an idempotency store, and the operation sequences it is checked on.
//!
//! The model is exactly the documented semantics of
//! [`IdempotencyStore`](runhook::store::IdempotencyStore), on virtual times in milliseconds
//! from the start of a sequence and on tokens numbered in the order the model hands them out
//! (a store's own tokens are opaque: the runner maps each one to the model's on `Acquired`).

use std::fmt;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use runhook::store::KeyState;

/// Virtual time: milliseconds since the start of a sequence.
pub(super) type Millis = u64;

/// A token as the model numbers it: the `n`-th acquisition of the sequence.
pub(super) type TokenId = usize;

/// The keys one sequence works on.
pub(super) const KEYS: usize = 3;
/// The most operations in one sequence.
pub(super) const MAX_OPS: usize = 40;
/// The longest wait between two operations: longer than any lease and any retention.
const MAX_WAIT: Millis = 45_000;
/// The leases of claims and renewals.
const LEASES: [Millis; 3] = [1_000, 2_000, 5_000];
/// The retentions of completions.
const RETENTIONS: [Millis; 3] = [3_000, 10_000, 30_000];

// A whole sequence (at most 30 minutes) stays within the purge margin of the
// durable stores, so a holder past its lease that nobody took over may always still settle it.
const _: () = assert!((MAX_OPS as u128) * (MAX_WAIT as u128) < crate::PURGE_MARGIN.as_millis());

/// One operation, with the wait before it.
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// How far time moves forward before the operation.
    pub(super) wait: Millis,
    /// The operation.
    pub(super) action: Action,
}

/// Which token an operation uses.
#[derive(Debug, Clone)]
pub(super) enum Pick {
    /// The last one handed out for the key operated on: its holder's, or a stale one after a
    /// takeover, completion or release (if none yet, the last one handed out for another key).
    Latest,
    /// Any handed out so far in the sequence (current or stale, of any key).
    Any(Index),
    /// One never handed out.
    Never,
}

/// A store operation on key number `key`.
#[derive(Debug, Clone)]
pub(super) enum Action {
    Claim {
        key: usize,
        lease: Millis,
    },
    Renew {
        key: usize,
        token: Pick,
        lease: Millis,
    },
    Complete {
        key: usize,
        token: Pick,
        retention: Millis,
    },
    Release {
        key: usize,
        token: Pick,
    },
    State {
        key: usize,
    },
}

impl Action {
    /// The key it works on.
    pub(super) fn key(&self) -> usize {
        match *self {
            Action::Claim { key, .. }
            | Action::Renew { key, .. }
            | Action::Complete { key, .. }
            | Action::Release { key, .. }
            | Action::State { key } => key,
        }
    }

    /// `claim(k0, lease 1s)` and the like, with the token resolved.
    pub(super) fn describe(&self, token: Option<Option<TokenId>>) -> String {
        let token = match token {
            Some(Some(id)) => format!("token #{id}"),
            Some(None) | None => "a token never handed out".to_owned(),
        };
        let ms = Duration::from_millis;
        match *self {
            Action::Claim { key, lease } => format!("claim(k{key}, lease {:?})", ms(lease)),
            Action::Renew { key, lease, .. } => {
                format!("renew(k{key}, {token}, lease {:?})", ms(lease))
            }
            Action::Complete { key, retention, .. } => {
                format!("complete(k{key}, {token}, retention {:?})", ms(retention))
            }
            Action::Release { key, .. } => format!("release(k{key}, {token})"),
            Action::State { key } => format!("state(k{key})"),
        }
    }
}

/// An answer of the model, or of a store translated into the model's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// `Claim::Acquired` with a token not seen before in the sequence: the model's next one.
    Acquired(TokenId),
    /// `Claim::Acquired` with a token handed out before (a store's answer only).
    AcquiredAgain(TokenId),
    /// `Claim::InFlight`.
    InFlight(Duration),
    /// `Claim::Done`.
    Done,
    /// `Ok(())` of renew, complete or release.
    Settled,
    /// `Err(StoreError::NotHeld)` for the key operated on.
    NotHeld,
    /// The answer of `state`.
    State(KeyState),
    /// Any other error (a store's answer only).
    Error(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Acquired(id) => write!(f, "Acquired(new token #{id})"),
            Answer::AcquiredAgain(id) => write!(f, "Acquired(token #{id}, handed out before)"),
            Answer::InFlight(left) => write!(f, "InFlight(retry_after {left:?})"),
            Answer::Done => f.write_str("Done"),
            Answer::Settled => f.write_str("Ok"),
            Answer::NotHeld => f.write_str("Err(NotHeld)"),
            Answer::State(state) => write!(f, "{state:?}"),
            Answer::Error(error) => write!(f, "Err({error})"),
        }
    }
}

/// What the model holds for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Claimed by `token` until `until` (still held after that, until a takeover).
    InFlight { token: TokenId, until: Millis },
    /// Completed, retained until `until`.
    Done { until: Millis },
}

impl Entry {
    fn live(self, now: Millis) -> bool {
        match self {
            Entry::InFlight { until, .. } | Entry::Done { until } => until > now,
        }
    }
}

/// The reference: one entry per key, tokens numbered from 0.
#[derive(Debug, Clone, Default)]
pub(super) struct Model {
    entries: [Option<Entry>; KEYS],
    /// The last token handed out per key.
    latest: [Option<TokenId>; KEYS],
    issued: usize,
}

impl Model {
    /// The token `action` uses: `Some(Some(id))`, `Some(None)` for one never handed out, `None`
    /// if it takes no token.
    pub(super) fn token(&self, action: &Action) -> Option<Option<TokenId>> {
        let pick = match action {
            Action::Renew { token, .. }
            | Action::Complete { token, .. }
            | Action::Release { token, .. } => token,
            Action::Claim { .. } | Action::State { .. } => return None,
        };
        Some(match pick {
            Pick::Latest => self.latest[action.key() % KEYS].or(self.issued.checked_sub(1)),
            Pick::Any(index) if self.issued > 0 => Some(index.index(self.issued)),
            Pick::Any(_) | Pick::Never => None,
        })
    }

    /// Applies `action` with `token` (as resolved by [`Model::token`]) at `now`, and answers.
    pub(super) fn apply(
        &mut self,
        action: &Action,
        token: Option<Option<TokenId>>,
        now: Millis,
    ) -> Answer {
        let key = action.key() % KEYS;
        let entry = self.entries[key];
        let holder = |entry: Option<Entry>| match (entry, token) {
            (Some(Entry::InFlight { token: held, .. }), Some(Some(token))) => held == token,
            _ => false,
        };
        match *action {
            Action::Claim { lease, .. } => match entry {
                Some(Entry::InFlight { until, .. }) if until > now => {
                    Answer::InFlight(Duration::from_millis(until - now))
                }
                Some(Entry::Done { until }) if until > now => Answer::Done,
                _ => {
                    let token = self.issued;
                    self.issued += 1;
                    self.latest[key] = Some(token);
                    self.entries[key] = Some(Entry::InFlight {
                        token,
                        until: now + lease,
                    });
                    Answer::Acquired(token)
                }
            },
            Action::Renew { lease, .. } => match entry {
                Some(Entry::InFlight { token, .. }) if holder(entry) => {
                    self.entries[key] = Some(Entry::InFlight {
                        token,
                        until: now + lease,
                    });
                    Answer::Settled
                }
                _ => Answer::NotHeld,
            },
            Action::Complete { retention, .. } if holder(entry) => {
                self.entries[key] = Some(Entry::Done {
                    until: now + retention,
                });
                Answer::Settled
            }
            Action::Release { .. } if holder(entry) => {
                self.entries[key] = None;
                Answer::Settled
            }
            Action::Complete { .. } | Action::Release { .. } => Answer::NotHeld,
            Action::State { .. } => Answer::State(self.state(key, now)),
        }
    }

    /// The state of key number `key` at `now`.
    pub(super) fn state(&self, key: usize, now: Millis) -> KeyState {
        match self.entries[key % KEYS] {
            Some(entry @ Entry::InFlight { .. }) if entry.live(now) => KeyState::InFlight,
            Some(entry @ Entry::Done { .. }) if entry.live(now) => KeyState::Done,
            _ => KeyState::Absent,
        }
    }
}

/// The seed of the sequence generator, so every run checks the same sequences.
const SEED: &[u8; 32] = b"runhook-store model sequences v1";

/// A runner drawing `cases` sequences from the fixed seed.
pub(super) fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, SEED))
}

/// Sequences of 1 to [`MAX_OPS`] steps.
pub(super) fn sequences() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..=MAX_OPS)
}

fn step() -> impl Strategy<Value = Step> {
    (wait(), action()).prop_map(|(wait, action)| Step { wait, action })
}

/// Often none; whole seconds (landing exactly on lease and retention ends); fractions of a
/// second (so the time left on a lease is checked to the millisecond); and long waits, past
/// any lease and retention.
fn wait() -> impl Strategy<Value = Millis> {
    prop_oneof![
        4 => Just(0),
        3 => (1..=6u64).prop_map(|seconds| seconds * 1_000),
        2 => 1..1_000u64,
        1 => 6_000..=MAX_WAIT,
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let key = || 0..KEYS;
    let lease = || prop::sample::select(&LEASES[..]);
    let pick = || {
        prop_oneof![
            6 => Just(Pick::Latest),
            3 => any::<Index>().prop_map(Pick::Any),
            1 => Just(Pick::Never),
        ]
    };
    prop_oneof![
        4 => (key(), lease()).prop_map(|(key, lease)| Action::Claim { key, lease }),
        2 => (key(), pick(), lease())
            .prop_map(|(key, token, lease)| Action::Renew { key, token, lease }),
        3 => (key(), pick(), prop::sample::select(&RETENTIONS[..]))
            .prop_map(|(key, token, retention)| Action::Complete { key, token, retention }),
        1 => (key(), pick()).prop_map(|(key, token)| Action::Release { key, token }),
        1 => key().prop_map(|key| Action::State { key }),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::strategy::{Strategy, ValueTree};

    use super::*;

    /// The sequences the suite runs reach every situation the model tells apart.
    #[test]
    fn the_sequences_exercise_expiry_takeovers_and_fencing() {
        let mut runner = runner(crate::testing::MODEL_CASES);
        let mut seen = std::collections::BTreeMap::<&str, usize>::new();
        for _ in 0..crate::testing::MODEL_CASES {
            let steps = sequences().new_tree(&mut runner).unwrap().current();
            let (mut model, mut now) = (Model::default(), 0);
            for step in steps {
                now += step.wait;
                let before = model.entries[step.action.key()];
                let token = model.token(&step.action);
                let answer = model.apply(&step.action, token, now);
                let what = match (&step.action, before, &answer) {
                    (Action::Claim { .. }, Some(Entry::InFlight { .. }), Answer::Acquired(_)) => {
                        "takeover"
                    }
                    (Action::Claim { .. }, Some(Entry::Done { .. }), Answer::Acquired(_)) => {
                        "claim after the retention"
                    }
                    (_, Some(Entry::InFlight { until, .. }), Answer::Settled) if until <= now => {
                        "settled past the lease"
                    }
                    (_, _, Answer::NotHeld) if token == Some(None) => "a token never handed out",
                    (_, _, Answer::NotHeld) => "a stale or foreign token refused",
                    (_, _, Answer::InFlight(_)) => "in flight",
                    (_, _, Answer::Done) => "done",
                    (Action::State { .. }, _, _) => "state",
                    _ => "other",
                };
                *seen.entry(what).or_default() += 1;
                let until = match before {
                    Some(Entry::InFlight { until, .. } | Entry::Done { until }) => until,
                    None => 0,
                };
                if until == now && before.is_some() {
                    *seen
                        .entry("exactly at a lease or retention end")
                        .or_default() += 1;
                }
            }
        }
        for what in [
            "takeover",
            "claim after the retention",
            "settled past the lease",
            "a token never handed out",
            "a stale or foreign token refused",
            "in flight",
            "done",
            "state",
            "exactly at a lease or retention end",
        ] {
            assert!(
                seen.get(what).copied().unwrap_or(0) >= 5,
                "{what}: {seen:?}"
            );
        }
    }
}
