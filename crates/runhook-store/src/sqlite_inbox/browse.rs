//! What a console asks of [`SqliteInbox`]: pages, activity, depth and attempt histories; the
//! replays and the purge of one row. Each is one operation of the writer thread
//! ([`console::Op`]).

use std::time::SystemTime;

use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, InboxAttempt, InboxDepth, InboxEntry, RowFilter,
};
use runhook::store::{IdempotencyKey, StoreError};

use super::SqliteInbox;
use super::console;
use super::ops::{Op, Reply};
use crate::inbox_console;
use crate::millis::millis_since_epoch;

impl SqliteInbox {
    /// The page `query` asks for.
    pub(super) async fn browse_rows(
        &self,
        query: &BrowseQuery,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let Some((sql, params)) = inbox_console::browse(console::DIALECT, query)
            .map_err(|message| self.unavailable(&message))?
        else {
            return Ok(Vec::new());
        };
        let rows = self
            .rows(Op::Console(console::Op::Browse { sql, params }))
            .await?;
        rows.into_iter().map(|raw| self.entry(raw)).collect()
    }

    /// The activity of `window`'s minutes.
    pub(super) async fn activity_minutes(
        &self,
        window: ActivityWindow,
    ) -> Result<Vec<ActivityMinute>, StoreError> {
        let (start, end) = inbox_console::activity_bounds(&window);
        match self
            .call(Op::Console(console::Op::Activity { start, end }))
            .await?
        {
            Reply::Activity(counts) => Ok(inbox_console::activity_minutes(&window, counts)),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The attempt history of `key`.
    pub(super) async fn attempt_history(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Vec<InboxAttempt>, StoreError> {
        let op = console::Op::Attempts {
            key: key.as_str().to_owned(),
        };
        match self.call(Op::Console(op)).await? {
            Reply::Attempts(attempts) => attempts
                .into_iter()
                .map(|raw| {
                    raw.into_attempt()
                        .map_err(|message| self.unavailable(&message))
                })
                .collect(),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Replays the row of `key`: if it is dead, or with `finished` done or dead.
    pub(super) async fn revive(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        finished: bool,
    ) -> Result<bool, StoreError> {
        let op = console::Op::Replay {
            key: key.as_str().to_owned(),
            now: millis_since_epoch(now),
            finished,
        };
        Ok(self.changed(Op::Console(op)).await? > 0)
    }

    /// Replays the dead rows `filter` selects, in one statement.
    pub(super) async fn replay_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let (sql, params) =
            inbox_console::replay_dead_matching(console::DIALECT, filter, millis_since_epoch(now));
        let op = console::Op::ReplayMatching { sql, params };
        self.changed(Op::Console(op)).await
    }

    /// Deletes the finished row of `key` and its history.
    pub(super) async fn purge_one(&self, key: &IdempotencyKey) -> Result<bool, StoreError> {
        let op = console::Op::PurgeKey {
            key: key.as_str().to_owned(),
        };
        Ok(self.changed(Op::Console(op)).await? > 0)
    }

    /// The depth counts at `now`.
    pub(super) async fn depth_counts(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        let op = console::Op::Depth {
            now: millis_since_epoch(now),
        };
        match self.call(Op::Console(op)).await? {
            Reply::Depth(counts, oldest) => Ok(inbox_console::depth_of(counts, oldest)),
            other => Err(self.unexpected(&other)),
        }
    }
}
