//! The trait every inbox backend implements.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{
    InboxClaim, InboxDepth, InboxEntry, InboxFilter, Inserted, NewInboxEntry, PendingFilter,
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
    /// otherwise [`StoreError::NotHeld`] and nothing changes.
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

    /// Makes the dead row of `key` pending again, due at `now`, with its attempts counted from
    /// zero. Returns whether there was a dead row of `key`.
    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError>;

    /// Makes every dead row pending again, as [`replay`](Self::replay) does; returns how many.
    async fn replay_dead(&self, now: SystemTime) -> Result<u64, StoreError>;

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
    async fn retry_pending(
        &self,
        filter: &PendingFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError>;

    /// Deletes the rows of kind `which` that finished before `before`; returns how many. Pending
    /// rows are never purged.
    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError>;

    /// How many rows it holds, by state, at `now`.
    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError>;
}
