//! Fenced updates in groups (the inbox's settlements as done, the store's completions): one
//! statement over `unnest(keys, tokens, times)` per group, each row fenced by its token as a
//! single update is.

use std::sync::Arc;

use runhook::store::{IdempotencyKey, StoreError};

use super::{Distinct, Request, keyed, together_or_alone};
use crate::postgres::Database;

/// A row to update: its key, the token that must hold it, and a time (ms since the epoch: the
/// finish time, the end of retention) the statement writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FencedRow {
    pub(crate) key: String,
    pub(crate) token: i64,
    pub(crate) at: i64,
}

/// Runs `sql` on `group`'s rows in one statement and answers each request (`NotHeld` where its
/// token no longer holds the row); if that fails, runs it on each row alone.
///
/// `sql` takes three arrays, `$1::text[]` keys, `$2::bigint[]` tokens and `$3::bigint[]` times,
/// and returns the `(key, token)` of each row it updated.
pub(crate) async fn commit_fenced(
    database: Database,
    sql: Arc<str>,
    group: Vec<Request<FencedRow, ()>>,
) {
    // Each (key, token) once, in key order; a repeat of one within the group is refused, as the
    // second of two such updates in a row would be.
    let pairs: Vec<(&str, i64)> = group
        .iter()
        .map(|request| (request.item.key.as_str(), request.item.token))
        .collect();
    let distinct = Distinct::of(&pairs);
    let rows = distinct.items(&group);
    let held = together_or_alone(&rows, |rows| update(&database, &sql, rows)).await;
    for (request, (slot, first)) in group.into_iter().zip(distinct.slots) {
        let answer = match &held[slot] {
            Err(error) if first => Err(error.clone()),
            Ok(true) if first => Ok(()),
            _ => Err(StoreError::NotHeld {
                key: IdempotencyKey::new(request.item.key.as_str()),
            }),
        };
        // The caller may have given up waiting; the rows are written either way.
        let _ = request.reply.send(answer);
    }
}

/// Runs `sql` on `rows` (distinct pairs) in one statement: whether each still held its row.
async fn update(
    database: &Database,
    sql: &str,
    rows: &[&FencedRow],
) -> Result<Vec<bool>, StoreError> {
    let client = database.client().await?;
    let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
    let tokens: Vec<i64> = rows.iter().map(|row| row.token).collect();
    let times: Vec<i64> = rows.iter().map(|row| row.at).collect();
    // A key's row has one token: each key is touched once at most.
    let updated = keyed(&client, sql, &[&keys, &tokens, &times]).await?;
    Ok(rows
        .iter()
        .map(|row| updated.get(&row.key) == Some(&row.token))
        .collect())
}
