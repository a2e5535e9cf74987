//! The rows of an inbox, and what its operations answer.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use bytes::Bytes;

use crate::DriftProblem;
use crate::reconcile::Source;
use crate::store::{ClaimToken, IdempotencyKey};

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum InboxState {
    /// Waiting for its next attempt, or being processed under a lease.
    Pending,
    /// Processed: the handler answered `Ok`.
    Done,
    /// Given up: rejected by the handler, or out of attempts. [`Inbox::replay`](super::Inbox::replay)
    /// makes it pending again.
    Dead,
}

impl InboxState {
    /// Every state, in order.
    pub const ALL: [InboxState; 3] = [InboxState::Pending, InboxState::Done, InboxState::Dead];

    /// The state's name: `pending`, `done` or `dead` (the form stored and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            InboxState::Pending => "pending",
            InboxState::Done => "done",
            InboxState::Dead => "dead",
        }
    }
}

impl fmt::Display for InboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InboxState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InboxState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown inbox state {s:?}: expected pending, done or dead"))
    }
}

/// A row's state as a console shows it: [`InboxState`], with the pending rows split in two by
/// whether an attempt of theirs failed (a replay starts a row afresh: its last error is cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RowState {
    /// Pending, and no attempt of its current series failed (none made yet, or one running).
    Pending,
    /// Pending after a failed attempt: waiting for the next one, or being tried again.
    Retrying,
    /// Processed.
    Done,
    /// Given up.
    Dead,
}

impl RowState {
    /// Every state, in order.
    pub const ALL: [RowState; 4] = [
        RowState::Pending,
        RowState::Retrying,
        RowState::Done,
        RowState::Dead,
    ];

    /// The state's name: `pending`, `retrying`, `done` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Retrying => "retrying",
            RowState::Done => "done",
            RowState::Dead => "dead",
        }
    }

    /// The stored state of its rows.
    pub fn inbox_state(self) -> InboxState {
        match self {
            RowState::Pending | RowState::Retrying => InboxState::Pending,
            RowState::Done => InboxState::Done,
            RowState::Dead => InboxState::Dead,
        }
    }
}

impl fmt::Display for RowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RowState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RowState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!("unknown row state {s:?}: expected pending, retrying, done or dead")
            })
    }
}

/// A new row: an accepted event, as the receiver inserts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewInboxEntry {
    /// The event's idempotency key: the row's identity.
    pub key: IdempotencyKey,
    /// The event's `run_id`, if it has one; rows of one run are processed one at a time.
    pub run_id: Option<String>,
    /// The event's name (`run.completed`…).
    pub event: String,
    /// When the receiver accepted it.
    pub received_at: SystemTime,
    /// The request body exactly as received.
    pub body: Bytes,
    /// The drift problems found when it was accepted (empty for most events).
    pub drift: Vec<DriftProblem>,
    /// How it reached the receiver: a webhook, or recovered by the reconciler.
    pub source: Source,
}

impl NewInboxEntry {
    /// A new entry of `body`, an event named `event`, accepted at `received_at` under `key`.
    pub fn new(
        key: IdempotencyKey,
        event: impl Into<String>,
        received_at: SystemTime,
        body: impl Into<Bytes>,
    ) -> Self {
        NewInboxEntry {
            key,
            run_id: None,
            event: event.into(),
            received_at,
            body: body.into(),
            drift: Vec::new(),
            source: Source::Webhook,
        }
    }

    /// The same entry with the event's `run_id`.
    pub fn with_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// The same entry with the drift problems found when it was accepted.
    pub fn with_drift(mut self, drift: Vec<DriftProblem>) -> Self {
        self.drift = drift;
        self
    }

    /// The same entry, as having reached the receiver from `source` (default: a webhook).
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }
}

/// The former name of [`NewInboxEntry`] ("record" names log entries, such as
/// `AttemptRecord`, in this crate).
#[deprecated(since = "0.2.0", note = "renamed `NewInboxEntry`")]
pub type InboxRecord = NewInboxEntry;

/// A row as the inbox holds it: the new entry as inserted, and how its processing stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxEntry {
    /// The event's idempotency key: the row's identity.
    pub key: IdempotencyKey,
    /// The event's `run_id`, if it has one.
    pub run_id: Option<String>,
    /// The event's name.
    pub event: String,
    /// When the receiver accepted it.
    pub received_at: SystemTime,
    /// The request body exactly as received.
    pub body: Bytes,
    /// The drift problems found when it was accepted.
    pub drift: Vec<DriftProblem>,
    /// How it reached the receiver: a webhook, or recovered by the reconciler.
    pub source: Source,
    /// Where it is in its life.
    pub state: InboxState,
    /// The attempts started so far (a claim starts one).
    pub attempts: u32,
    /// When a pending row is due (its next attempt); for a finished row, when it was due last.
    pub next_at: SystemTime,
    /// Until when a worker holds it, if a worker claimed it and has not settled it.
    pub lease_until: Option<SystemTime>,
    /// What the last failed attempt reported, if one failed.
    pub last_error: Option<String>,
    /// When it became done or dead.
    pub finished_at: Option<SystemTime>,
    /// How many times a finished row was made pending again ([`Inbox::replay`](super::Inbox::replay)
    /// and its kin): the attempts of a row come in series, one per life, numbered from 0.
    pub replays: u32,
}

impl InboxEntry {
    /// A pending row of the new entry `record`, due at once, with no attempt yet.
    pub fn pending(record: NewInboxEntry) -> Self {
        InboxEntry {
            next_at: record.received_at,
            key: record.key,
            run_id: record.run_id,
            event: record.event,
            received_at: record.received_at,
            body: record.body,
            drift: record.drift,
            source: record.source,
            state: InboxState::Pending,
            attempts: 0,
            lease_until: None,
            last_error: None,
            finished_at: None,
            replays: 0,
        }
    }

    /// Whether a worker holds it at `now`: pending, with a lease that has not run out.
    pub fn is_leased(&self, now: SystemTime) -> bool {
        self.state == InboxState::Pending && self.lease_until.is_some_and(|until| until > now)
    }

    /// Its state as a console shows it: a pending row whose last attempt failed is
    /// [`RowState::Retrying`].
    pub fn row_state(&self) -> RowState {
        match self.state {
            InboxState::Pending if self.last_error.is_some() => RowState::Retrying,
            InboxState::Pending => RowState::Pending,
            InboxState::Done => RowState::Done,
            InboxState::Dead => RowState::Dead,
        }
    }
}

/// What [`Inbox::insert`](super::Inbox::insert) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inserted {
    /// A new row, pending.
    New,
    /// The key was already there, in this state; nothing was written.
    Duplicate(InboxState),
}

/// A row a worker claimed: the row (its `attempts` counts this attempt) and the token that holds
/// it until it is settled or its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxClaim {
    /// The row, as of the claim.
    pub entry: InboxEntry,
    /// The claim's fencing token.
    pub token: ClaimToken,
}

impl InboxClaim {
    /// A claim of `entry` held by `token`.
    pub fn new(entry: InboxEntry, token: ClaimToken) -> Self {
        InboxClaim { entry, token }
    }
}

/// Which rows [`Inbox::list`](super::Inbox::list) returns: oldest first (by `received_at`, then
/// key), optionally of one state, after a cursor, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxFilter {
    /// Only rows in this state; `None`: every state.
    pub state: Option<InboxState>,
    /// Only rows after this one in list order (the last row of the previous page).
    pub after: Option<(SystemTime, IdempotencyKey)>,
    /// At most this many rows.
    pub limit: usize,
}

impl InboxFilter {
    /// The first `limit` rows of every state.
    pub fn first(limit: usize) -> Self {
        InboxFilter {
            state: None,
            after: None,
            limit,
        }
    }

    /// The same filter, for rows in `state` only.
    pub fn in_state(mut self, state: InboxState) -> Self {
        self.state = Some(state);
        self
    }

    /// The same filter, for the page after `entry`.
    pub fn after(mut self, entry: &InboxEntry) -> Self {
        self.after = Some((entry.received_at, entry.key.clone()));
        self
    }

    /// Whether `entry` passes the state and cursor conditions (not the limit).
    pub fn admits(&self, entry: &InboxEntry) -> bool {
        self.state.is_none_or(|state| entry.state == state)
            && self
                .after
                .as_ref()
                .is_none_or(|(at, key)| (entry.received_at, &entry.key) > (*at, key))
    }
}

/// Conditions on a row's key, `run_id` and event, whatever its state: which pending rows
/// [`Inbox::retry_pending`](super::Inbox::retry_pending) makes due, which dead rows
/// [`Inbox::replay_dead_matching`](super::Inbox::replay_dead_matching) replays, which rows
/// [`Inbox::browse`](super::Inbox::browse) shows. Every condition set must hold (none set: every
/// row). Each is one an inbox checks cheaply: the key, a prefix of the `run_id`, the event's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowFilter {
    /// Only the row of this key.
    pub key: Option<IdempotencyKey>,
    /// Only rows whose `run_id` starts with this (a row without a `run_id` never matches).
    pub run_id_prefix: Option<String>,
    /// Only rows of this event (`run.completed`…).
    pub event: Option<String>,
}

impl RowFilter {
    /// Every row.
    pub fn all() -> Self {
        RowFilter::default()
    }

    /// The same filter, for the row of `key` only.
    pub fn with_key(mut self, key: IdempotencyKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The same filter, for rows whose `run_id` starts with `prefix` only.
    pub fn with_run_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.run_id_prefix = Some(prefix.into());
        self
    }

    /// The same filter, for rows of the event `event` only.
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Whether `entry` passes the filter's conditions (whatever its state).
    pub fn admits(&self, entry: &InboxEntry) -> bool {
        self.key.as_ref().is_none_or(|key| entry.key == *key)
            && self.run_id_prefix.as_deref().is_none_or(|prefix| {
                entry
                    .run_id
                    .as_deref()
                    .is_some_and(|run_id| run_id.starts_with(prefix))
            })
            && self
                .event
                .as_deref()
                .is_none_or(|event| entry.event == event)
    }
}

/// How many rows an inbox holds, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxDepth {
    /// Pending rows no worker holds (waiting, or due).
    pub pending: u64,
    /// Pending rows a worker holds under a running lease.
    pub in_flight: u64,
    /// Done rows not yet purged.
    pub done: u64,
    /// Dead rows.
    pub dead: u64,
    /// Of the pending rows, held or not (`pending` + `in_flight`), those whose last attempt
    /// failed ([`RowState::Retrying`]).
    pub retrying: u64,
    /// When the oldest pending row (held or not) was received, if there is one.
    pub oldest_pending: Option<SystemTime>,
}
