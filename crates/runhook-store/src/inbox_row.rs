//! An inbox row as the durable inboxes store it: times as integer milliseconds since the Unix
//! epoch, the drift problems as JSON text, the state and the source by name.

use bytes::Bytes;
use runhook::DriftProblem;
use std::time::SystemTime;

use runhook::inbox::{
    AttemptOutcome, InboxAttempt, InboxEntry, InboxState, NewInboxEntry, Settlement,
};
use runhook::reconcile::Source;
use runhook::store::IdempotencyKey;

use crate::millis::{millis_since_epoch, time_from_millis};

/// A row's columns, as read from a backend.
#[derive(Debug)]
pub(crate) struct RawEntry {
    pub(crate) key: String,
    pub(crate) run_id: Option<String>,
    pub(crate) event: String,
    pub(crate) received_at: i64,
    pub(crate) body: Vec<u8>,
    pub(crate) drift: String,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) next_at: i64,
    pub(crate) lease_until: Option<i64>,
    pub(crate) token: i64,
    pub(crate) last_error: Option<String>,
    pub(crate) finished_at: Option<i64>,
    pub(crate) source: String,
    pub(crate) replays: i64,
}

impl RawEntry {
    /// The row as the core's entry; a message if a column holds what no inbox writes.
    pub(crate) fn into_entry(self) -> Result<InboxEntry, String> {
        let drift: Vec<DriftProblem> = serde_json::from_str(&self.drift)
            .map_err(|error| format!("the drift of row {:?} is not valid: {error}", self.key))?;
        let state: InboxState = self.state.parse()?;
        let source: Source = self
            .source
            .parse()
            .map_err(|error| format!("the source of row {:?} is not valid: {error}", self.key))?;
        let record = NewInboxEntry::new(
            IdempotencyKey::new(self.key),
            self.event,
            time_from_millis(self.received_at),
            Bytes::from(self.body),
        )
        .with_drift(drift)
        .with_source(source);
        let record = match self.run_id {
            Some(run_id) => record.with_run_id(run_id),
            None => record,
        };
        let mut entry = InboxEntry::pending(record);
        entry.state = state;
        entry.attempts = u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX);
        entry.next_at = time_from_millis(self.next_at);
        // A lease is running only while the row is pending; a settled row keeps none.
        entry.lease_until = self.lease_until.map(time_from_millis);
        entry.last_error = self.last_error;
        entry.finished_at = self.finished_at.map(time_from_millis);
        entry.replays = u32::try_from(self.replays.max(0)).unwrap_or(u32::MAX);
        Ok(entry)
    }
}

/// `drift` as the JSON text a row keeps.
pub(crate) fn drift_json(drift: &[DriftProblem]) -> Result<String, String> {
    serde_json::to_string(drift).map_err(|error| format!("cannot encode the drift: {error}"))
}

/// The columns every read returns, in [`RawEntry`]'s order.
pub(crate) const COLUMNS: &str = "key, run_id, event, received_at, body, drift, state, attempts, \
                                  next_at, lease_until, token, last_error, finished_at, source, \
                                  replays";

/// The bounds of a claim, in milliseconds: `None` for a limit of 0 (nothing to claim).
pub(crate) fn claim_bounds(
    now: std::time::SystemTime,
    lease: std::time::Duration,
    limit: usize,
) -> Option<ClaimBounds> {
    if limit == 0 {
        return None;
    }
    let now = crate::millis::millis_since_epoch(now);
    Some(ClaimBounds {
        now,
        lease_until: now.saturating_add(crate::millis::millis(lease)),
        limit: i64::try_from(limit).unwrap_or(i64::MAX),
    })
}

/// A claim's time, lease end and limit, in milliseconds and rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimBounds {
    pub(crate) now: i64,
    pub(crate) lease_until: i64,
    pub(crate) limit: i64,
}

/// Claimed rows (each with its new token) as the core's claims.
pub(crate) fn claims(
    rows: Vec<RawEntry>,
    entry: impl Fn(RawEntry) -> Result<InboxEntry, runhook::StoreError>,
) -> Result<Vec<runhook::inbox::InboxClaim>, runhook::StoreError> {
    rows.into_iter()
        .map(|raw| {
            let token = runhook::store::ClaimToken::new(raw.token.unsigned_abs());
            Ok(runhook::inbox::InboxClaim::new(entry(raw)?, token))
        })
        .collect()
}

/// A claim token as a row keeps it; one that no row can hold is [`NotHeld`](runhook::StoreError::NotHeld).
pub(crate) fn held_token(
    key: &IdempotencyKey,
    token: runhook::store::ClaimToken,
) -> Result<i64, runhook::StoreError> {
    i64::try_from(token.get()).map_err(|_| runhook::StoreError::NotHeld { key: key.clone() })
}

/// The state whose finished rows a purge deletes, or a message for a kind this crate does not
/// know.
pub(crate) fn purged_state(which: runhook::inbox::Purge) -> Result<&'static str, String> {
    match which {
        runhook::inbox::Purge::Done => Ok(InboxState::Done.as_str()),
        runhook::inbox::Purge::Dead => Ok(InboxState::Dead.as_str()),
        other => Err(format!("unknown purge {other:?}")),
    }
}

/// An entry of a row's attempt history, as read from a backend.
#[derive(Debug)]
pub(crate) struct RawAttempt {
    pub(crate) series: i64,
    pub(crate) attempt: i64,
    pub(crate) started_at: i64,
    pub(crate) finished_at: i64,
    pub(crate) outcome: String,
    pub(crate) error: Option<String>,
    pub(crate) next_at: Option<i64>,
}

/// The columns of an attempt history every read returns, in [`RawAttempt`]'s order.
pub(crate) const ATTEMPT_COLUMNS: &str =
    "series, attempt, started_at, finished_at, outcome, error, next_at";

impl RawAttempt {
    /// The entry as the core's; a message if its outcome is one no inbox writes.
    pub(crate) fn into_attempt(self) -> Result<InboxAttempt, String> {
        let outcome = AttemptOutcome::parse(&self.outcome)
            .ok_or_else(|| format!("unknown attempt outcome {:?}", self.outcome))?;
        let count = |value: i64| u32::try_from(value.max(0)).unwrap_or(u32::MAX);
        let mut attempt = InboxAttempt::settled(
            count(self.series),
            count(self.attempt),
            time_from_millis(self.started_at),
            time_from_millis(self.finished_at),
            &Settlement::Done,
        );
        // As stored: the columns are those `InboxAttempt::settled` gave when it was recorded.
        attempt.outcome = outcome;
        attempt.error = self.error;
        attempt.next_at = self.next_at.map(time_from_millis);
        Ok(attempt)
    }
}

/// What a settlement adds to a row's history besides the row's own columns (series, attempt,
/// claim time): [`InboxAttempt::settled`]'s outcome, error and next due time, times in
/// milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) outcome: &'static str,
    pub(crate) error: Option<String>,
    pub(crate) next_at: Option<i64>,
}

impl Recorded {
    /// The history values of `settlement`, settled at `now`.
    pub(crate) fn of(settlement: &Settlement, now: SystemTime) -> Self {
        let attempt = InboxAttempt::settled(0, 0, now, now, settlement);
        Recorded {
            outcome: attempt.outcome.as_str(),
            error: attempt.error,
            next_at: attempt.next_at.map(millis_since_epoch),
        }
    }
}
