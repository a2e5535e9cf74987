//! The store's claims in groups (see [`crate::postgres::group`]): one `INSERT … SELECT FROM
//! unnest(…) ON CONFLICT (key) DO UPDATE … WHERE <expired by that claim's clock>` per group, then
//! one read of the keys it did not acquire.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use runhook::store::{Claim, ClaimToken, StoreError};

use super::sql::Statements;
use crate::postgres::group::{Distinct, Request, keyed, together_or_alone};
use crate::postgres::{Database, unavailable, unavailable_message};

/// How many times a claim is tried again when the row it conflicted with vanished (released or
/// purged) or ended before it could be read.
const CLAIM_ATTEMPTS: usize = 8;

/// A claim: its key, the claimant's now and the end of the lease it asks for (ms since the
/// epoch, by the claimant's clock).
#[derive(Debug)]
pub(super) struct ClaimRow {
    pub(super) key: String,
    pub(super) now: i64,
    pub(super) until: i64,
}

/// What a claim statement and the read after it found of one key.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// The claim took the key, with this token.
    Acquired(i64),
    /// Another holds the key (or completed it) until `until`, by the row.
    Held { done: bool, until: i64 },
    /// The row it conflicted with went before it could be read.
    Gone,
}

/// Claims `group`'s keys and answers each request. Of the requests for one key, the first is
/// the group's claim of it; the others are answered as a claim that lost to it (in flight until
/// its lease ends, by their own clock), or, where that ended by their clock, claim again.
pub(super) async fn commit_claims(
    database: Database,
    sql: Arc<Statements>,
    group: Vec<Request<ClaimRow, Claim>>,
) {
    let rows: Vec<&ClaimRow> = group.iter().map(|request| &request.item).collect();
    let answers = claim(&database, &sql, &rows).await;
    for (request, answer) in group.into_iter().zip(answers) {
        // The caller may have given up waiting; its claim stands either way (until its lease
        // ends).
        let _ = request.reply.send(answer);
    }
}

/// The answer to each of `rows`, in order: rounds of one statement on the distinct keys still
/// unanswered, up to [`CLAIM_ATTEMPTS`].
async fn claim(
    database: &Database,
    sql: &Statements,
    rows: &[&ClaimRow],
) -> Vec<Result<Claim, StoreError>> {
    let mut answers: Vec<Option<Result<Claim, StoreError>>> = rows.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..rows.len()).collect();
    for _ in 0..CLAIM_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let keys: Vec<&str> = pending.iter().map(|&i| rows[i].key.as_str()).collect();
        let distinct = Distinct::of(&keys);
        let round: Vec<&ClaimRow> = distinct
            .firsts
            .iter()
            .map(|&first| rows[pending[first]])
            .collect();
        let found = together_or_alone(&round, |round| claim_once(database, sql, round)).await;
        let mut again = Vec::new();
        for (&index, &(slot, first)) in pending.iter().zip(&distinct.slots) {
            let now = rows[index].now;
            let answer = match &found[slot] {
                Err(error) => Some(Err(error.clone())),
                Ok(Found::Acquired(token)) if first => {
                    Some(Ok(Claim::Acquired(ClaimToken::new(token.unsigned_abs()))))
                }
                // A repeat of a key this round acquired: it lost to the first.
                Ok(Found::Acquired(_)) => held(false, round[slot].until, now),
                Ok(Found::Held { done, until }) => held(*done, *until, now),
                Ok(Found::Gone) => None,
            };
            match answer {
                Some(answer) => answers[index] = Some(answer),
                None => again.push(index),
            }
        }
        pending = again;
    }
    answers
        .into_iter()
        .zip(rows)
        .map(|(answer, row)| {
            answer.unwrap_or_else(|| {
                Err(unavailable_message(format!(
                    "PostgreSQL: the claim of {} kept racing with other operations",
                    row.key
                )))
            })
        })
        .collect()
}

/// The answer at `now` to a claim of a key held (completed if `done`) until `until`; `None` if
/// that ended by `now`, so the key is claimed again.
fn held(done: bool, until: i64, now: i64) -> Option<Result<Claim, StoreError>> {
    (until > now).then(|| {
        Ok(if done {
            Claim::Done
        } else {
            Claim::InFlight {
                retry_after: Duration::from_millis((until - now).unsigned_abs()),
            }
        })
    })
}

/// Claims `rows` (distinct keys, in key order) in one statement, then reads the rows of those
/// it did not acquire: what each found, in order.
async fn claim_once(
    database: &Database,
    sql: &Statements,
    rows: &[&ClaimRow],
) -> Result<Vec<Found>, StoreError> {
    let client = database.client().await?;
    let keys: Vec<&str> = rows.iter().map(|row| row.key.as_str()).collect();
    let nows: Vec<i64> = rows.iter().map(|row| row.now).collect();
    let untils: Vec<i64> = rows.iter().map(|row| row.until).collect();
    let acquired = keyed(&client, &sql.claim_many, &[&keys, &nows, &untils]).await?;
    let lost: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|key| !acquired.contains_key(*key))
        .collect();
    let mut held = HashMap::with_capacity(lost.len());
    if !lost.is_empty() {
        // The keys are held or done. A new statement sees the rows even if they were committed
        // after the claim's snapshot; one that went (released, purged) is claimed again.
        let read = client
            .prepare_cached(&sql.read_many)
            .await
            .map_err(unavailable)?;
        for row in client.query(&read, &[&lost]).await.map_err(unavailable)? {
            let key: String = row.try_get(0).map_err(unavailable)?;
            let state: &str = row.try_get(1).map_err(unavailable)?;
            let until: i64 = row.try_get(2).map_err(unavailable)?;
            held.insert(key, (state == "done", until));
        }
    }
    Ok(keys
        .iter()
        .map(|key| match (acquired.get(*key), held.get(*key)) {
            (Some(token), _) => Found::Acquired(*token),
            (None, Some((done, until))) => Found::Held {
                done: *done,
                until: *until,
            },
            (None, None) => Found::Gone,
        })
        .collect())
}
