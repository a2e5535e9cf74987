//! Settlements as done in groups: one `UPDATE … FROM unnest(…)` per group, each row fenced by its
//! token as a single settlement is.

use std::collections::HashSet;
use std::sync::Arc;

use runhook::store::{IdempotencyKey, StoreError};

use super::Request;
use crate::postgres::{Database, unavailable};
use crate::postgres_inbox::sql::Statements;

/// A row to mark done: its key, the token that must hold it, the finish time (ms since epoch).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(in crate::postgres_inbox) struct DoneRow {
    pub(in crate::postgres_inbox) key: String,
    pub(in crate::postgres_inbox) token: i64,
    pub(in crate::postgres_inbox) finished_at: i64,
}

/// Marks `group`'s rows done in one transaction and answers each request (`NotHeld` where its
/// token no longer holds the row); if that fails, marks each on its own.
pub(in crate::postgres_inbox) async fn commit_done(
    database: Database,
    sql: Arc<Statements>,
    group: Vec<Request<DoneRow, ()>>,
) {
    // Each (key, token) once, in key order (so groups lock rows in the same order); a repeat of
    // one within the group is refused, as the second of two settlements in a row would be.
    let mut seen = HashSet::with_capacity(group.len());
    let mut first = Vec::with_capacity(group.len());
    for request in &group {
        first.push(seen.insert((&request.item.key, request.item.token)));
    }
    let mut rows: Vec<&DoneRow> = group
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(request, _)| &request.item)
        .collect();
    rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
    let settled = match settle(&database, &sql, &rows).await {
        Ok(settled) => Ok(settled),
        Err(_) if rows.len() > 1 => {
            let mut settled = HashSet::with_capacity(rows.len());
            let mut failed = Vec::new();
            for row in &rows {
                match settle(&database, &sql, &[*row]).await {
                    Ok(one) => settled.extend(one),
                    Err(error) => failed.push(((row.key.clone(), row.token), error)),
                }
            }
            Err((settled, failed))
        }
        Err(error) => Err((
            HashSet::new(),
            rows.iter()
                .map(|row| ((row.key.clone(), row.token), error.clone()))
                .collect(),
        )),
    };
    for (request, first) in group.into_iter().zip(first) {
        let id = (request.item.key.clone(), request.item.token);
        let held = |settled: &HashSet<(String, i64)>| {
            if first && settled.contains(&id) {
                Ok(())
            } else {
                Err(StoreError::NotHeld {
                    key: IdempotencyKey::new(request.item.key.as_str()),
                })
            }
        };
        let answer = match &settled {
            Ok(settled) => held(settled),
            Err((settled, failed)) => match failed.iter().find(|(failed, _)| *failed == id) {
                Some((_, error)) if first => Err(error.clone()),
                _ => held(settled),
            },
        };
        // The caller may have given up waiting; the rows are written either way.
        let _ = request.reply.send(answer);
    }
}

/// Marks `rows` done in one transaction: the (key, token) pairs that still held their row.
async fn settle(
    database: &Database,
    sql: &Statements,
    rows: &[&DoneRow],
) -> Result<HashSet<(String, i64)>, StoreError> {
    let client = database.client().await?;
    let statement = client
        .prepare_cached(&sql.done_many)
        .await
        .map_err(unavailable)?;
    let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
    let tokens: Vec<i64> = rows.iter().map(|row| row.token).collect();
    let finished: Vec<i64> = rows.iter().map(|row| row.finished_at).collect();
    // One statement: its own transaction.
    client
        .query(&statement, &[&keys, &tokens, &finished])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(unavailable)
}
