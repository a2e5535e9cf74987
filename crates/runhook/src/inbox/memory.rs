//! The in-memory inbox: the reference semantics, for tests and examples.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{
    ATTEMPT_HISTORY_LIMIT, ActivityMinute, ActivityWindow, BrowseQuery, Inbox, InboxAttempt,
    InboxClaim, InboxDepth, InboxEntry, InboxFilter, InboxState, Inserted, NewInboxEntry, Purge,
    RowFilter, RowState, Settlement,
};
use crate::store::{ClaimToken, IdempotencyKey, StoreError};

/// An [`Inbox`] in memory, for one process: the reference semantics every durable backend
/// follows, for tests and examples. Its rows are lost when the process exits, so it is no inbox
/// for production: use `runhook-store`'s SQLite or PostgreSQL inbox there.
///
/// It holds at most `capacity` rows; an insert beyond that fails with [`StoreError::InboxFull`] (a
/// receiver answers 503 and the sender retries) until finished rows are purged.
pub struct MemoryInbox {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    rows: BTreeMap<IdempotencyKey, Row>,
    last_token: u64,
}

struct Row {
    entry: InboxEntry,
    token: ClaimToken,
    /// When the running (or last) attempt was claimed.
    claimed_at: SystemTime,
    /// The settled attempts, oldest first, at most [`ATTEMPT_HISTORY_LIMIT`].
    history: VecDeque<InboxAttempt>,
}

impl MemoryInbox {
    /// The default capacity: 100 000 rows.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty inbox of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) rows.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty inbox of at most `capacity` rows (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryInbox {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for MemoryInbox {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryInbox")
            .field("capacity", &self.capacity)
            .field("rows", &self.lock().rows.len())
            .finish()
    }
}

impl Inner {
    /// The row `token` holds on `key`, if it still does.
    fn held(&mut self, key: &IdempotencyKey, token: ClaimToken) -> Result<&mut Row, StoreError> {
        match self.rows.get_mut(key) {
            // A settled row keeps its token but loses its lease: the token holds it no more.
            Some(row)
                if row.token == token
                    && row.entry.state == InboxState::Pending
                    && row.entry.lease_until.is_some() =>
            {
                Ok(row)
            }
            _ => Err(StoreError::NotHeld { key: key.clone() }),
        }
    }

    /// The keys of the due rows at `now`, earliest due first.
    fn due(&self, now: SystemTime) -> Vec<IdempotencyKey> {
        let mut pending: Vec<&InboxEntry> = self
            .rows
            .values()
            .map(|row| &row.entry)
            .filter(|entry| entry.state == InboxState::Pending)
            .collect();
        // Runs first, in the order received: only the oldest pending row of a run is ever due.
        pending.sort_by(|a, b| (a.received_at, &a.key).cmp(&(b.received_at, &b.key)));
        let held_runs: HashSet<&str> = pending
            .iter()
            .filter(|entry| entry.is_leased(now))
            .filter_map(|entry| entry.run_id.as_deref())
            .collect();
        let mut seen_runs = HashSet::new();
        let mut due = Vec::new();
        for entry in pending {
            if let Some(run_id) = entry.run_id.as_deref() {
                // Only the oldest pending row of a run is ever due.
                if !seen_runs.insert(run_id) || held_runs.contains(run_id) {
                    continue;
                }
            }
            if entry.next_at <= now && !entry.is_leased(now) {
                due.push((entry.next_at, entry.key.clone()));
            }
        }
        due.sort();
        due.into_iter().map(|(_, key)| key).collect()
    }
}

fn later(now: SystemTime, span: Duration) -> SystemTime {
    now.checked_add(span).unwrap_or(now)
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn insert(
        &self,
        record: NewInboxEntry,
        _now: SystemTime,
    ) -> Result<Inserted, StoreError> {
        let mut inner = self.lock();
        if let Some(row) = inner.rows.get(&record.key) {
            return Ok(Inserted::Duplicate(row.entry.state));
        }
        if inner.rows.len() >= self.capacity {
            return Err(StoreError::InboxFull {
                capacity: self.capacity,
            });
        }
        let key = record.key.clone();
        let row = Row {
            claimed_at: record.received_at,
            entry: InboxEntry::pending(record),
            token: ClaimToken::new(0),
            history: VecDeque::new(),
        };
        inner.rows.insert(key, row);
        Ok(Inserted::New)
    }

    async fn claim_due(
        &self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<InboxClaim>, StoreError> {
        let mut inner = self.lock();
        let mut claims = Vec::new();
        for key in inner.due(now).into_iter().take(limit) {
            inner.last_token += 1;
            let token = ClaimToken::new(inner.last_token);
            if let Some(row) = inner.rows.get_mut(&key) {
                row.token = token;
                row.claimed_at = now;
                row.entry.attempts = row.entry.attempts.saturating_add(1);
                row.entry.lease_until = Some(later(now, lease));
                claims.push(InboxClaim::new(row.entry.clone(), token));
            }
        }
        Ok(claims)
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.held(key, token)?.entry.lease_until = Some(later(now, lease));
        Ok(())
    }

    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let row = inner.held(key, token)?;
        if row.history.len() >= ATTEMPT_HISTORY_LIMIT {
            row.history.pop_front();
        }
        row.history.push_back(InboxAttempt::settled(
            row.entry.replays,
            row.entry.attempts,
            row.claimed_at,
            now,
            &settlement,
        ));
        let entry = &mut row.entry;
        entry.lease_until = None;
        match settlement {
            Settlement::Done => {
                entry.state = InboxState::Done;
                entry.finished_at = Some(now);
            }
            Settlement::Retry { at, error } => {
                entry.next_at = at;
                entry.last_error = Some(error);
            }
            Settlement::Dead { error } => {
                entry.state = InboxState::Dead;
                entry.finished_at = Some(now);
                entry.last_error = Some(error);
            }
        }
        Ok(())
    }

    async fn get(&self, key: &IdempotencyKey) -> Result<Option<InboxEntry>, StoreError> {
        Ok(self.lock().rows.get(key).map(|row| row.entry.clone()))
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        let inner = self.lock();
        let mut entries: Vec<InboxEntry> = inner
            .rows
            .values()
            .filter(|row| filter.admits(&row.entry))
            .map(|row| row.entry.clone())
            .collect();
        entries.sort_by(|a, b| (a.received_at, &a.key).cmp(&(b.received_at, &b.key)));
        entries.truncate(filter.limit);
        Ok(entries)
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Vec<InboxEntry>, StoreError> {
        let inner = self.lock();
        let mut entries: Vec<InboxEntry> = inner
            .rows
            .values()
            .filter(|row| query.admits(&row.entry))
            .map(|row| row.entry.clone())
            .collect();
        entries.sort_by(|a, b| (b.received_at, &b.key).cmp(&(a.received_at, &a.key)));
        entries.truncate(query.effective_limit());
        Ok(entries)
    }

    async fn activity(&self, window: ActivityWindow) -> Result<Vec<ActivityMinute>, StoreError> {
        let inner = self.lock();
        let mut minutes = window.empty_minutes();
        for row in inner.rows.values() {
            let entry = &row.entry;
            if let Some(index) = window.index(entry.received_at) {
                minutes[index].received += 1;
            }
            if let Some(index) = entry.finished_at.and_then(|at| window.index(at)) {
                match entry.state {
                    InboxState::Done => minutes[index].processed += 1,
                    InboxState::Dead => minutes[index].dead += 1,
                    InboxState::Pending => {}
                }
            }
        }
        Ok(minutes)
    }

    async fn attempts(&self, key: &IdempotencyKey) -> Result<Vec<InboxAttempt>, StoreError> {
        Ok(self
            .lock()
            .rows
            .get(key)
            .map(|row| row.history.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.rows.get_mut(key) {
            Some(row) if row.entry.state == InboxState::Dead => {
                revive(&mut row.entry, now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replay_finished(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.rows.get_mut(key) {
            Some(row) if row.entry.state != InboxState::Pending => {
                revive(&mut row.entry, now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replay_dead_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let mut count = 0;
        for row in inner.rows.values_mut() {
            if row.entry.state == InboxState::Dead && filter.admits(&row.entry) {
                revive(&mut row.entry, now);
                count += 1;
            }
        }
        Ok(count)
    }

    async fn retry_pending(&self, filter: &RowFilter, now: SystemTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let mut count = 0;
        for row in inner.rows.values_mut() {
            let entry = &mut row.entry;
            if entry.state == InboxState::Pending
                && entry.next_at > now
                && !entry.is_leased(now)
                && filter.admits(entry)
            {
                entry.next_at = now;
                count += 1;
            }
        }
        Ok(count)
    }

    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError> {
        let state = match which {
            Purge::Done => InboxState::Done,
            Purge::Dead => InboxState::Dead,
        };
        let mut inner = self.lock();
        let old = inner.rows.len();
        inner.rows.retain(|_, row| {
            !(row.entry.state == state && row.entry.finished_at.is_some_and(|at| at < before))
        });
        Ok((old - inner.rows.len()) as u64)
    }

    async fn purge_key(&self, key: &IdempotencyKey) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.rows.get(key) {
            Some(row) if row.entry.state != InboxState::Pending => {
                inner.rows.remove(key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        let inner = self.lock();
        let mut depth = InboxDepth::default();
        for row in inner.rows.values() {
            if row.entry.state == InboxState::Pending {
                depth.oldest_pending = Some(
                    depth
                        .oldest_pending
                        .map_or(row.entry.received_at, |at| at.min(row.entry.received_at)),
                );
                if row.entry.row_state() == RowState::Retrying {
                    depth.retrying += 1;
                }
            }
            let count = match row.entry.state {
                InboxState::Pending if row.entry.is_leased(now) => &mut depth.in_flight,
                InboxState::Pending => &mut depth.pending,
                InboxState::Done => &mut depth.done,
                InboxState::Dead => &mut depth.dead,
            };
            *count += 1;
        }
        Ok(depth)
    }
}

/// A finished row made pending again, due at `now`, attempts counted from zero in a new series.
fn revive(entry: &mut InboxEntry, now: SystemTime) {
    entry.state = InboxState::Pending;
    entry.attempts = 0;
    entry.replays = entry.replays.saturating_add(1);
    entry.last_error = None;
    entry.next_at = now;
    entry.lease_until = None;
    entry.finished_at = None;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is a failure report

    use std::time::{Duration, SystemTime};

    use bytes::Bytes;

    use super::*;

    #[tokio::test]
    async fn a_full_inbox_says_so_in_its_own_words() {
        let inbox = MemoryInbox::with_capacity(1);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = |key: &str| {
            NewInboxEntry::new(IdempotencyKey::new(key), "run.completed", at, Bytes::new())
        };
        inbox.insert(record("a"), at).await.unwrap();
        let error = inbox.insert(record("b"), at).await.unwrap_err();
        assert_eq!(error, StoreError::InboxFull { capacity: 1 });
        let message = error.to_string();
        assert!(message.starts_with("the inbox is full"), "{message}");
        assert!(!message.contains("idempotency"), "{message}");
    }
}
