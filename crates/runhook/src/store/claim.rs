//! The answers of a store: claims, tokens and key states.

use std::time::Duration;

/// Proof of holding a claim, handed out by `claim` and required by `complete` and `release`.
///
/// Every acquisition gets a new token, so a claimant whose lease expired and was taken over
/// cannot complete or release the new holder's claim (a fencing token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimToken(u64);

impl ClaimToken {
    /// A token from a backend's own counter or random number.
    pub fn new(value: u64) -> Self {
        ClaimToken(value)
    }

    /// The token's value, for storing it.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// The answer to a claim of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a claim must be acted on: process on Acquired, answer 503 on InFlight, 200 on Done"]
pub enum Claim {
    /// The caller now holds the key until `now + lease`: process the event, then `complete` or
    /// `release` with this token. Also returned when an earlier holder's lease had expired (a
    /// takeover) or a completed key's retention had passed.
    Acquired(ClaimToken),
    /// Another delivery holds the key and its lease runs for `retry_after` more.
    InFlight {
        /// Time left on the holder's lease.
        retry_after: Duration,
    },
    /// The key was completed and is still retained: a duplicate.
    Done,
}

/// What a store holds for a key at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyState {
    /// Nothing, or only an expired lease or retention: a claim would be acquired.
    Absent,
    /// Claimed, with a lease still running.
    InFlight,
    /// Completed, within its retention.
    Done,
}

impl KeyState {
    /// A stable snake_case name (`absent`, `in_flight`, `done`), as in `fixtures/vectors`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Absent => "absent",
            KeyState::InFlight => "in_flight",
            KeyState::Done => "done",
        }
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
