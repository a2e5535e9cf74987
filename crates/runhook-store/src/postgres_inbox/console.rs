//! What a console reads of [`PostgresInbox`]: pages of rows, activity per minute, depth and
//! attempt histories; and the replay of dead rows by filter. The SQL of pages, activity, depth
//! and replays by filter is the one both durable inboxes share
//! ([`inbox_console`](crate::inbox_console)).

use std::time::SystemTime;

use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, InboxAttempt, InboxDepth, InboxEntry, RowFilter,
};
use runhook::store::{IdempotencyKey, StoreError};
use tokio_postgres::types::ToSql;

use super::PostgresInbox;
use super::operations::{entry, raw_entry};
use super::sql::dialect;
use crate::inbox_console::{self, Param};
use crate::inbox_row::RawAttempt;
use crate::millis::millis_since_epoch;
use crate::postgres::{unavailable, unavailable_message};

/// `params` as the driver's parameters.
fn driver_params(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| match param {
            Param::Text(text) => text as &(dyn ToSql + Sync),
            Param::Int(int) => int as &(dyn ToSql + Sync),
        })
        .collect()
}

fn message(message: String) -> StoreError {
    unavailable_message(format!("PostgreSQL: {message}"))
}

impl PostgresInbox {
    /// Runs the counting statement `sql` with [`COUNT_PLAN`](super::sql::COUNT_PLAN) set.
    async fn count(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(unavailable)?;
        transaction
            .batch_execute(super::sql::COUNT_PLAN)
            .await
            .map_err(unavailable)?;
        let statement = transaction.prepare_cached(sql).await.map_err(unavailable)?;
        let rows = transaction
            .query(&statement, params)
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        Ok(rows)
    }

    /// The page `query` asks for.
    pub(super) async fn browse_rows(
        &self,
        query: &BrowseQuery,
    ) -> Result<Vec<InboxEntry>, StoreError> {
        let Some((sql, params)) =
            inbox_console::browse(dialect(&self.sql.table), query).map_err(message)?
        else {
            return Ok(Vec::new());
        };
        let client = self.client().await?;
        let rows = client
            .query(&sql, &driver_params(&params))
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| raw_entry(row).map_err(unavailable).and_then(entry))
            .collect()
    }

    /// The activity of `window`'s minutes.
    pub(super) async fn activity_minutes(
        &self,
        window: ActivityWindow,
    ) -> Result<Vec<ActivityMinute>, StoreError> {
        let (start, end) = inbox_console::activity_bounds(&window);
        let rows = self.count(&self.sql.activity, &[&start, &end]).await?;
        let counts = rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect::<Result<Vec<(String, i64, i64)>, tokio_postgres::Error>>()
            .map_err(unavailable)?;
        Ok(inbox_console::activity_minutes(&window, counts))
    }

    /// The attempt history of `key`.
    pub(super) async fn attempt_history(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Vec<InboxAttempt>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.attempts)
            .await
            .map_err(unavailable)?;
        let rows = client
            .query(&statement, &[&key.as_str()])
            .await
            .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                let raw = RawAttempt {
                    series: i64::from(row.try_get::<_, i32>(0)?),
                    attempt: i64::from(row.try_get::<_, i32>(1)?),
                    started_at: row.try_get(2)?,
                    finished_at: row.try_get(3)?,
                    outcome: row.try_get(4)?,
                    error: row.try_get(5)?,
                    next_at: row.try_get(6)?,
                };
                Ok(raw)
            })
            .map(|raw: Result<RawAttempt, tokio_postgres::Error>| {
                raw.map_err(unavailable)?.into_attempt().map_err(message)
            })
            .collect()
    }

    /// Replays the dead rows `filter` selects, in one statement.
    pub(super) async fn replay_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let (sql, params) = inbox_console::replay_dead_matching(
            dialect(&self.sql.table),
            filter,
            millis_since_epoch(now),
        );
        let client = self.client().await?;
        client
            .execute(&sql, &driver_params(&params))
            .await
            .map_err(unavailable)
    }

    /// The depth counts at `now`.
    pub(super) async fn depth_counts(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        let rows = self
            .count(&self.sql.depth, &[&millis_since_epoch(now)])
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| message("the depth counts returned no row".to_owned()))?;
        let mut counts = [0_i64; 5];
        for (i, count) in counts.iter_mut().enumerate() {
            *count = row.try_get(i).map_err(unavailable)?;
        }
        let oldest: Option<i64> = row.try_get(5).map_err(unavailable)?;
        Ok(inbox_console::depth_of(counts, oldest))
    }
}
