//! The statements of [`PostgresInbox`](super::PostgresInbox) that end an attempt: each updates
//! the row, fenced by its token, and adds the attempt to the row's history (its newest
//! [`ATTEMPT_HISTORY_LIMIT`] kept) in the same statement, so in the same transaction.

use runhook::inbox::{ATTEMPT_HISTORY_LIMIT, AttemptOutcome};

/// Adds the rows of `settled` (key, replays, attempts, started_at, finished_at, outcome, error,
/// next_at) to `history`, then deletes the attempts of their keys beyond the newest
/// [`ATTEMPT_HISTORY_LIMIT`]: the delete sees the history as it was before the statement, so it
/// keeps one fewer, and the attempt added makes them the limit.
fn record(history: &str, values: &str) -> String {
    let keep = ATTEMPT_HISTORY_LIMIT - 1;
    format!(
        "recorded AS (\
           INSERT INTO {history} \
             (key, series, attempt, started_at, finished_at, outcome, error, next_at) \
           SELECT {values} FROM settled \
           ON CONFLICT (key, series, attempt) DO UPDATE SET \
             started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, \
             outcome = EXCLUDED.outcome, error = EXCLUDED.error, next_at = EXCLUDED.next_at), \
         trimmed AS (\
           DELETE FROM {history} AS h USING settled AS s \
           WHERE h.key = s.key AND (h.series, h.attempt) <= (\
             SELECT o.series, o.attempt FROM {history} AS o WHERE o.key = s.key \
             ORDER BY o.series DESC, o.attempt DESC OFFSET {keep} LIMIT 1))"
    )
}

/// A settlement of the row `$1` held by the token `$2` at `$3` (ms), that `set`s the row's
/// columns, recorded as outcome `$4`, error `$5`, next due time `$6`: the key, if it was held.
pub(super) fn settle(table: &str, history: &str, set: &str) -> String {
    let record = record(
        history,
        "key, replays, attempts, COALESCE(claimed_at, $3::bigint), $3::bigint, $4::text, \
         $5::text, $6::bigint",
    );
    format!(
        "WITH settled AS (\
           UPDATE {table} SET {set}, lease_until = NULL \
           WHERE key = $1 AND token = $2 AND state = 'pending' AND lease_until IS NOT NULL \
           RETURNING key, replays, attempts, claimed_at), \
         {record} \
         SELECT key FROM settled"
    )
}

/// A group's settlements as done, one array per column (key, token, finish time): the (key,
/// token) pairs that held their row.
pub(super) fn done_many(table: &str, history: &str) -> String {
    let done = AttemptOutcome::Done.as_str();
    let record = record(
        history,
        &format!(
            "key, replays, attempts, COALESCE(claimed_at, finished_at), finished_at, '{done}', \
             NULL, NULL"
        ),
    );
    format!(
        "WITH settled AS (\
           UPDATE {table} AS r \
           SET state = 'done', finished_at = d.finished_at, lease_until = NULL \
           FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d (key, token, finished_at) \
           WHERE r.key = d.key AND r.token = d.token AND r.state = 'pending' \
             AND r.lease_until IS NOT NULL \
           RETURNING r.key, r.token, r.replays, r.attempts, r.claimed_at, r.finished_at), \
         {record} \
         SELECT key, token FROM settled"
    )
}
