//! The trait every inbox backend implements.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{
    ActivityMinute, ActivityWindow, BrowseQuery, InboxAttempt, InboxClaim, InboxDepth, InboxEntry,
    InboxFilter, Inserted, NewInboxEntry, RowFilter,
};
use crate::store::{ClaimToken, IdempotencyKey, StoreError};

/// How a worker ends an attempt on a row it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settlement {
    /// Processed: the row becomes done.
    Done,
    /// Failed, to be tried again: the row stays pending, due at `at`.
    Retry {
        /// When the next attempt is due.
        at: SystemTime,
        /// What went wrong, kept as the row's last error.
        error: String,
    },
    /// Given up (rejected, or out of attempts): the row becomes dead.
    Dead {
        /// Why, kept as the row's last error.
        error: String,
    },
}

/// Which finished rows [`Inbox::purge`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purge {
    /// Done rows finished before the time given.
    Done,
    /// Dead rows finished before the time given.
    Dead,
}

/// An inbox: durable rows of accepted events, claimed by workers with a lease and settled.
///
/// Every operation is atomic. Of any number of concurrent inserts of one key, exactly one gets
/// [`Inserted::New`]; of any number of concurrent `claim_due` calls, each due row goes to one
/// caller. `now` is wall-clock time (`SystemTime`), because a shared inbox compares times
/// written by several processes.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Inserts `record` as a pending row due at once, unless its key is already there (in any
    /// state, until purged): then nothing is written and the answer is
    /// [`Inserted::Duplicate`]. The receiver acknowledges the event once this returns `Ok`.
    async fn insert(&self, record: NewInboxEntry, now: SystemTime) -> Result<Inserted, StoreError>;

    /// Claims up to `limit` due rows for `lease`, earliest due first (by `next_at`, then key: a
    /// new row is due when received, so new rows go in the order received). A row is due when it
    /// is pending, its `next_at` has come, and no worker holds it under a running lease. Of the
    /// pending rows of one `run_id`, only the oldest is ever due, and only while no other row of
    /// that run is held: rows of one run are processed one at a time, in the order received.
    ///
    /// Each claim counts an attempt and carries a new fencing token.
    async fn claim_due(
        &self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<InboxClaim>, StoreError>;

    /// Extends the lease `token` holds on `key` to `now + lease`, if `token` still holds it (also
    /// after its lease ran out, as long as nobody claimed it again); otherwise
    /// [`StoreError::NotHeld`].
    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError>;

    /// Ends the attempt `token` holds on `key` as `settlement` says, if `token` still holds it;
    /// otherwise [`StoreError::NotHeld`] and nothing changes. In the same transaction it adds
    /// the attempt to the row's history ([`InboxAttempt::settled`]: claimed at the time of its
    /// claim, settled at `now`), keeping the newest
    /// [`ATTEMPT_HISTORY_LIMIT`](super::ATTEMPT_HISTORY_LIMIT).
    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), StoreError>;

    /// The row of `key`, if there is one.
    async fn get(&self, key: &IdempotencyKey) -> Result<Option<InboxEntry>, StoreError>;

    /// The rows `filter` selects, oldest first.
    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError>;

    /// The rows `query` selects, newest first. A backend answers from its indexes: a page costs
    /// about its length, whatever the number of rows.
    async fn browse(&self, query: &BrowseQuery) -> Result<Vec<InboxEntry>, StoreError>;

    /// What happened in each minute of `window`: rows received, and rows that became done and
    /// dead (those still in that state), one [`ActivityMinute`] per minute, in order.
    async fn activity(&self, window: ActivityWindow) -> Result<Vec<ActivityMinute>, StoreError>;

    /// The history of the row of `key`: its settled attempts, oldest first (series, then
    /// attempt); empty if there is no such row.
    async fn attempts(&self, key: &IdempotencyKey) -> Result<Vec<InboxAttempt>, StoreError>;

    /// Makes the dead row of `key` pending again, due at `now`, with its attempts counted from
    /// zero, its last error cleared and a new series of attempts ([`InboxEntry::replays`] counts
    /// one more). Returns whether there was a dead row of `key`.
    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError>;

    /// Makes the finished row of `key`, done or dead, pending again, as [`replay`](Self::replay)
    /// does: to run a handler again over an event it already processed (after fixing a bug, say).
    /// Returns whether there was a finished row of `key`.
    async fn replay_finished(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<bool, StoreError>;

    /// Makes every dead row that `filter` selects pending again, as [`replay`](Self::replay)
    /// does, in one atomic statement; returns how many.
    async fn replay_dead_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError>;

    /// Makes every dead row pending again, as [`replay`](Self::replay) does; returns how many.
    async fn replay_dead(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.replay_dead_matching(&RowFilter::all(), now).await
    }

    /// Makes the pending rows `filter` selects that wait for a later attempt due at `now`: each
    /// pending row no worker holds under a running lease whose `next_at` is after `now` gets
    /// `next_at = now`, its attempts and last error kept. Returns how many. Rows held under a
    /// lease, rows already due, and done or dead rows are left as they are (a dead row comes
    /// back with [`replay`](Self::replay)).
    ///
    /// This pulls waiting rows forward: a relay calls it when its target answers again after an
    /// outage, so that rows backed off during the outage go at once rather than at their
    /// scheduled times; the workers still claim at most their concurrency at a time, and rows
    /// of one run still go one at a time, in order. One atomic statement.
    async fn retry_pending(&self, filter: &RowFilter, now: SystemTime) -> Result<u64, StoreError>;

    /// Deletes the rows of kind `which` that finished before `before`, and their histories;
    /// returns how many. Pending rows are never purged.
    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError>;

    /// Deletes the row of `key` and its history if it is finished (done or dead); returns whether
    /// it did. A pending row is never purged.
    async fn purge_key(&self, key: &IdempotencyKey) -> Result<bool, StoreError>;

    /// How many rows it holds, by state, at `now`, and the oldest pending row's age. Counted from
    /// indexes.
    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError>;
}
