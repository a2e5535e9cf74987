//! A [`MemoryInbox`] whose inserts or renewals can be made to fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, Inbox, InboxAttempt, InboxClaim, InboxDepth,
    InboxEntry, InboxFilter, Inserted, MemoryInbox, NewInboxEntry, Purge, RowFilter, Settlement,
};
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};

/// A [`MemoryInbox`] (shared, so a test can read it) with faults.
#[derive(Default)]
pub(crate) struct FaultyInbox {
    pub(crate) rows: Arc<MemoryInbox>,
    /// Inserts fail while set.
    pub(crate) fail_insert: AtomicBool,
    /// Renewals fail while set.
    pub(crate) fail_renew: AtomicBool,
    /// Renewals tried.
    pub(crate) renewals: AtomicUsize,
}

impl FaultyInbox {
    /// Over `rows`.
    pub(crate) fn over(rows: Arc<MemoryInbox>) -> Self {
        FaultyInbox {
            rows,
            ..FaultyInbox::default()
        }
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable {
        message: "connection lost".into(),
    }
}

#[async_trait]
impl Inbox for FaultyInbox {
    async fn insert(&self, record: NewInboxEntry, now: SystemTime) -> Result<Inserted, StoreError> {
        if self.fail_insert.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        self.rows.insert(record, now).await
    }

    async fn claim_due(
        &self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<InboxClaim>, StoreError> {
        self.rows.claim_due(now, lease, limit).await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        if self.fail_renew.load(Ordering::SeqCst) {
            return Err(unavailable());
        }
        self.rows.renew(key, token, now, lease).await
    }

    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), StoreError> {
        self.rows.settle(key, token, now, settlement).await
    }

    async fn get(&self, key: &IdempotencyKey) -> Result<Option<InboxEntry>, StoreError> {
        self.rows.get(key).await
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        self.rows.list(filter).await
    }

    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError> {
        self.rows.replay(key, now).await
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Vec<InboxEntry>, StoreError> {
        self.rows.browse(query).await
    }

    async fn activity(&self, window: ActivityWindow) -> Result<Vec<ActivityMinute>, StoreError> {
        self.rows.activity(window).await
    }

    async fn attempts(&self, key: &IdempotencyKey) -> Result<Vec<InboxAttempt>, StoreError> {
        self.rows.attempts(key).await
    }

    async fn replay_finished(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.rows.replay_finished(key, now).await
    }

    async fn replay_dead_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        self.rows.replay_dead_matching(filter, now).await
    }

    async fn retry_pending(&self, filter: &RowFilter, now: SystemTime) -> Result<u64, StoreError> {
        self.rows.retry_pending(filter, now).await
    }

    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError> {
        self.rows.purge(which, before).await
    }

    async fn purge_key(&self, key: &IdempotencyKey) -> Result<bool, StoreError> {
        self.rows.purge_key(key).await
    }

    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        self.rows.depth(now).await
    }
}
