//! The [`Inbox`] operations of [`PostgresInbox`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, Inbox, InboxAttempt, InboxClaim, InboxDepth,
    InboxEntry, InboxFilter, InboxState, Inserted, NewInboxEntry, Purge, RowFilter, Settlement,
};
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};
use tokio_postgres::Row;

use super::PostgresInbox;
use super::inserts::NewRow;
use crate::inbox_row::{
    RawEntry, Recorded, claim_bounds, claims, drift_json, held_token, purged_state,
};
use crate::millis::{millis, millis_since_epoch};
use crate::postgres::group::FencedRow;
use crate::postgres::{unavailable, unavailable_message};

#[async_trait]
impl Inbox for PostgresInbox {
    async fn insert(
        &self,
        record: NewInboxEntry,
        _now: SystemTime,
    ) -> Result<Inserted, StoreError> {
        let row = NewRow {
            drift: drift_json(&record.drift).map_err(unavailable_message)?,
            received_at: millis_since_epoch(record.received_at),
            key: record.key.as_str().to_owned(),
            run_id: record.run_id,
            event: record.event,
            body: record.body,
            source: record.source.as_str(),
        };
        self.inserts.submit(row).await
    }

    async fn claim_due(
        &self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<InboxClaim>, StoreError> {
        let Some(bounds) = claim_bounds(now, lease, limit) else {
            return Ok(Vec::new());
        };
        claims(self.claim(bounds).await?, entry)
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let until = millis_since_epoch(now).saturating_add(millis(lease));
        self.fenced(&self.sql.renew, key, token, &[&until]).await
    }

    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), StoreError> {
        let recorded = Recorded::of(&settlement, now);
        let now = millis_since_epoch(now);
        let sql = match settlement {
            Settlement::Done => {
                let row = FencedRow {
                    key: key.as_str().to_owned(),
                    token: held_token(key, token)?,
                    at: now,
                };
                return self.dones.submit(row).await;
            }
            Settlement::Retry { .. } => &self.sql.retry,
            Settlement::Dead { .. } => &self.sql.dead,
            other => {
                return Err(unavailable_message(format!(
                    "PostgreSQL: unknown settlement {other:?}"
                )));
            }
        };
        let Recorded {
            outcome,
            error,
            next_at,
        } = recorded;
        self.fenced(sql, key, token, &[&now, &outcome, &error, &next_at])
            .await
    }

    async fn get(&self, key: &IdempotencyKey) -> Result<Option<InboxEntry>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.get)
            .await
            .map_err(unavailable)?;
        let row = client
            .query_opt(&statement, &[&key.as_str()])
            .await
            .map_err(unavailable)?;
        row.map(|row| raw_entry(&row).map_err(unavailable).and_then(entry))
            .transpose()
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let state = filter.state.map(InboxState::as_str);
        let after_at = filter.after.as_ref().map(|(at, _)| millis_since_epoch(*at));
        let after_key = filter.after.as_ref().map(|(_, key)| key.as_str());
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.list)
            .await
            .map_err(unavailable)?;
        let rows = client
            .query(&statement, &[&state, &after_at, &after_key, &limit])
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| raw_entry(row).map_err(unavailable).and_then(entry))
            .collect()
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Vec<InboxEntry>, StoreError> {
        self.browse_rows(query).await
    }

    async fn activity(&self, window: ActivityWindow) -> Result<Vec<ActivityMinute>, StoreError> {
        self.activity_minutes(window).await
    }

    async fn attempts(&self, key: &IdempotencyKey) -> Result<Vec<InboxAttempt>, StoreError> {
        self.attempt_history(key).await
    }

    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError> {
        let now = millis_since_epoch(now);
        Ok(self
            .execute(&self.sql.replay, &[&key.as_str(), &now])
            .await?
            > 0)
    }

    async fn replay_finished(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = millis_since_epoch(now);
        Ok(self
            .execute(&self.sql.replay_finished, &[&key.as_str(), &now])
            .await?
            > 0)
    }

    async fn replay_dead_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        self.replay_matching(filter, now).await
    }

    async fn retry_pending(&self, filter: &RowFilter, now: SystemTime) -> Result<u64, StoreError> {
        let key = filter.key.as_ref().map(IdempotencyKey::as_str);
        let prefix = filter.run_id_prefix.as_deref();
        let event = filter.event.as_deref();
        let now = millis_since_epoch(now);
        self.execute(&self.sql.retry_pending, &[&key, &prefix, &event, &now])
            .await
    }

    /// Deletes in batches of the configured purge batch (1000 rows by default), so locks are
    /// held briefly; batches follow one another until one deletes fewer.
    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError> {
        let state = purged_state(which)
            .map_err(|message| unavailable_message(format!("PostgreSQL: {message}")))?;
        let before = millis_since_epoch(before);
        self.database
            .delete_in_batches(&self.sql.purge, &[&state, &before], self.config.purge_batch)
            .await
    }

    async fn purge_key(&self, key: &IdempotencyKey) -> Result<bool, StoreError> {
        Ok(self.execute(&self.sql.purge_key, &[&key.as_str()]).await? > 0)
    }

    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        self.depth_counts(now).await
    }
}

/// A row of [`COLUMNS`](crate::inbox_row::COLUMNS).
pub(super) fn raw_entry(row: &Row) -> Result<RawEntry, tokio_postgres::Error> {
    Ok(RawEntry {
        key: row.try_get(0)?,
        run_id: row.try_get(1)?,
        event: row.try_get(2)?,
        received_at: row.try_get(3)?,
        body: row.try_get(4)?,
        drift: row.try_get(5)?,
        state: row.try_get(6)?,
        attempts: i64::from(row.try_get::<_, i32>(7)?),
        next_at: row.try_get(8)?,
        lease_until: row.try_get(9)?,
        token: row.try_get(10)?,
        last_error: row.try_get(11)?,
        finished_at: row.try_get(12)?,
        source: row.try_get(13)?,
        replays: i64::from(row.try_get::<_, i32>(14)?),
    })
}

pub(super) fn entry(raw: RawEntry) -> Result<InboxEntry, StoreError> {
    raw.into_entry()
        .map_err(|message| unavailable_message(format!("PostgreSQL: {message}")))
}
