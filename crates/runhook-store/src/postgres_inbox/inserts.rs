//! The inbox's inserts in groups (see [`crate::postgres::group`]): one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` per group.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use runhook::inbox::{InboxState, Inserted};
use runhook::store::StoreError;

use super::sql::Statements;
use crate::postgres::group::{Distinct, Request, together_or_alone};
use crate::postgres::{Database, unavailable, unavailable_message};

/// How many times a row is inserted again when the row it conflicted with vanished (purged)
/// before it could be read.
const INSERT_ATTEMPTS: usize = 8;

/// A new row, its times in milliseconds since the epoch and its drift as JSON text.
#[derive(Debug)]
pub(super) struct NewRow {
    pub(super) key: String,
    pub(super) run_id: Option<String>,
    pub(super) event: String,
    pub(super) received_at: i64,
    pub(super) body: Bytes,
    pub(super) drift: String,
    pub(super) source: &'static str,
}

/// Inserts `group` in one statement and answers each request; if that fails, inserts each
/// row on its own.
pub(super) async fn commit_inserts(
    database: Database,
    sql: Arc<Statements>,
    group: Vec<Request<NewRow, Inserted>>,
) {
    let (database, sql) = (&database, &*sql);
    // One row per key, in key order; a repeat of a key within the group is a duplicate of its
    // first request.
    let keys: Vec<&str> = group
        .iter()
        .map(|request| request.item.key.as_str())
        .collect();
    let distinct = Distinct::of(&keys);
    let rows = distinct.items(&group);
    let results = together_or_alone(&rows, |rows| insert(database, sql, rows)).await;
    for (request, (slot, first)) in group.into_iter().zip(distinct.slots) {
        let result = results[slot].clone().and_then(|result| result);
        let answer = if first {
            result
        } else {
            // A repeat within the group: the first request's row is there now, or is not.
            result.map(|inserted| match inserted {
                Inserted::New => Inserted::Duplicate(InboxState::Pending),
                duplicate => duplicate,
            })
        };
        // The caller may have given up waiting; the row is written either way.
        let _ = request.reply.send(answer);
    }
}

/// The answer for a row the database said nothing of (which does not happen).
fn no_answer() -> Result<Inserted, StoreError> {
    Err(unavailable_message(
        "PostgreSQL: the insert gave no answer".to_owned(),
    ))
}

/// Inserts `rows` (distinct keys) in one statement: each row's outcome, in order. A row that
/// conflicted with one purged before it could be read is inserted again, up to
/// [`INSERT_ATTEMPTS`] times.
async fn insert(
    database: &Database,
    sql: &Statements,
    rows: &[&NewRow],
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    // Each statement commits on its own: the insert is atomic, and the states read after it are
    // those of rows committed before (a row that conflicted is there, unless purged since).
    let client = database.client().await?;
    let insert = client
        .prepare_cached(&sql.insert_many)
        .await
        .map_err(unavailable)?;
    let states = client
        .prepare_cached(&sql.states)
        .await
        .map_err(unavailable)?;
    let mut results = HashMap::with_capacity(rows.len());
    let mut remaining: Vec<&NewRow> = rows.to_vec();
    for _ in 0..INSERT_ATTEMPTS {
        let keys: Vec<&str> = remaining.iter().map(|row| row.key.as_str()).collect();
        let run_ids: Vec<Option<&str>> =
            remaining.iter().map(|row| row.run_id.as_deref()).collect();
        let events: Vec<&str> = remaining.iter().map(|row| row.event.as_str()).collect();
        let received: Vec<i64> = remaining.iter().map(|row| row.received_at).collect();
        let bodies: Vec<&[u8]> = remaining.iter().map(|row| &row.body[..]).collect();
        let drifts: Vec<&str> = remaining.iter().map(|row| row.drift.as_str()).collect();
        let sources: Vec<&str> = remaining.iter().map(|row| row.source).collect();
        let inserted = client
            .query(
                &insert,
                &[
                    &keys, &run_ids, &events, &received, &bodies, &drifts, &sources,
                ],
            )
            .await
            .map_err(unavailable)?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<HashSet<String>, _>>()
            .map_err(unavailable)?;
        let conflicted: Vec<&NewRow> = remaining
            .into_iter()
            .filter(|row| {
                let new = inserted.contains(&row.key);
                if new {
                    results.insert(row.key.as_str(), Ok(Inserted::New));
                }
                !new
            })
            .collect();
        if conflicted.is_empty() {
            remaining = conflicted;
            break;
        }
        // A new statement sees the rows that conflicted, unless they were purged meanwhile.
        let keys: Vec<&str> = conflicted.iter().map(|row| row.key.as_str()).collect();
        let mut found = HashMap::with_capacity(keys.len());
        for row in client.query(&states, &[&keys]).await.map_err(unavailable)? {
            let key: String = row.try_get(0).map_err(unavailable)?;
            let state: &str = row.try_get(1).map_err(unavailable)?;
            found.insert(key, state.parse().map_err(unavailable_message));
        }
        remaining = Vec::new();
        for row in conflicted {
            match found.remove(&row.key) {
                Some(state) => {
                    results.insert(row.key.as_str(), state.map(Inserted::Duplicate));
                }
                None => remaining.push(row),
            }
        }
        if remaining.is_empty() {
            break;
        }
    }
    for row in remaining {
        let message = format!(
            "PostgreSQL: the insert of {} kept racing with purges",
            row.key
        );
        results.insert(row.key.as_str(), Err(unavailable_message(message)));
    }
    Ok(rows
        .iter()
        .map(|row| results.remove(row.key.as_str()).unwrap_or_else(no_answer))
        .collect())
}
