//! What the durable inboxes share of a console's reads and of the rows it replays: the SQL of a
//! page (conditions only for what a query sets, so the planner picks the index that serves it),
//! of the activity per minute and of the depth counts, and how their answers become the core's.
//! Each backend writes them in its [`Dialect`].

use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, InboxDepth, RowFilter, RowState,
};

use crate::inbox_row::COLUMNS;
use crate::millis::{millis_since_epoch, time_from_millis};

/// How a backend writes the statements built here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect<'a> {
    /// The table, qualified and quoted as the backend needs.
    pub(crate) table: &'a str,
    /// The mark of parameters: `?` (SQLite's `?1`) or `$` (PostgreSQL's `$1`).
    pub(crate) mark: char,
    /// The prefix of the table's index names, where a statement must name the partial index it
    /// reads (SQLite's `INDEXED BY`: without statistics SQLite prefers the state index, and
    /// reads every pending row to count the few held or retrying ones). `None` for PostgreSQL,
    /// whose planner weighs the indexes by their statistics.
    pub(crate) indexed_by: Option<&'a str>,
}

impl Dialect<'_> {
    /// The table, read through its index `{prefix}_{index}` where the dialect names indexes.
    fn from(&self, index: &str) -> String {
        match self.indexed_by {
            Some(prefix) => format!("{} INDEXED BY {prefix}_{index}", self.table),
            None => self.table.to_owned(),
        }
    }

    fn param(&self, n: usize) -> String {
        format!("{}{n}", self.mark)
    }
}

/// A parameter of a statement built here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

/// The conditions of a statement and their parameters, numbered from 1 in the order bound.
#[derive(Debug)]
pub(crate) struct Where {
    mark: char,
    conditions: Vec<String>,
    pub(crate) params: Vec<Param>,
}

impl Where {
    /// No condition yet; parameters written `{mark}1`, `{mark}2`…
    pub(crate) fn new(mark: char) -> Self {
        Where {
            mark,
            conditions: Vec::new(),
            params: Vec::new(),
        }
    }

    /// Binds `param`: its placeholder.
    pub(crate) fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("{}{}", self.mark, self.params.len())
    }

    /// Adds a condition (its parameters bound already).
    pub(crate) fn push(&mut self, condition: impl Into<String>) {
        self.conditions.push(condition.into());
    }

    /// Adds the conditions of `filter`. A `run_id` prefix is a range of the run index: the
    /// `run_id`s from the prefix up to the first string after every one that starts with it
    /// (keys and run ids compare bytewise in both backends, and UTF-8 keeps code point order).
    pub(crate) fn row_filter(&mut self, filter: &RowFilter) {
        if let Some(key) = &filter.key {
            let key = self.bind(Param::Text(key.as_str().to_owned()));
            self.push(format!("key = {key}"));
        }
        if let Some(prefix) = &filter.run_id_prefix {
            let end = prefix_end(prefix);
            let from = self.bind(Param::Text(prefix.clone()));
            self.push(format!("run_id >= {from}"));
            if let Some(end) = end {
                let end = self.bind(Param::Text(end));
                self.push(format!("run_id < {end}"));
            }
        }
        if let Some(event) = &filter.event {
            let event = self.bind(Param::Text(event.clone()));
            self.push(format!("event = {event}"));
        }
    }

    /// The conditions joined by `AND` (`1 = 1` without any).
    pub(crate) fn clause(&self) -> String {
        if self.conditions.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.conditions.join(" AND ")
        }
    }
}

/// The first string after every string that starts with `prefix`, if there is one (none when
/// every character of `prefix` is the last code point).
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            char::MAX => None,
            other => char::from_u32(u32::from(other) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// How a page reads the rows of a state: the stored state whose rows it walks in the state index
/// (none: every row by receipt, or the retrying rows in their partial index), and the condition
/// on the other columns (literals, so that the partial index of retrying rows matches); or a
/// message for a state this crate does not know.
fn state_walk(
    state: Option<RowState>,
) -> Result<(Option<&'static str>, Option<&'static str>), String> {
    match state {
        None => Ok((None, None)),
        Some(RowState::Pending) => Ok((Some("pending"), Some("last_error IS NULL"))),
        Some(RowState::Retrying) => {
            Ok((None, Some("state = 'pending' AND last_error IS NOT NULL")))
        }
        Some(RowState::Done) => Ok((Some("done"), None)),
        Some(RowState::Dead) => Ok((Some("dead"), None)),
        Some(other) => Err(format!("unknown row state {other:?}")),
    }
}

/// The page `query` asks of the table, newest first, with its parameters; `None` for a limit of
/// 0. Each page is a walk of one index, from its cursor, that stops at the limit: every row by
/// receipt; the rows of a state in the state index (the state a range and part of the order and
/// of the cursor, so that the planner cannot instead walk every row by receipt, through the
/// rows of other states); the retrying rows in their partial index (unless a key is given).
pub(crate) fn browse(
    dialect: Dialect<'_>,
    query: &BrowseQuery,
) -> Result<Option<(String, Vec<Param>)>, String> {
    let limit = query.effective_limit();
    if limit == 0 {
        return Ok(None);
    }
    let (stored, other) = state_walk(query.state)?;
    let from = match query.state {
        Some(RowState::Retrying) if query.matching.key.is_none() => dialect.from("retrying"),
        _ => dialect.table.to_owned(),
    };
    let mut conditions = Where::new(dialect.mark);
    if let Some(state) = stored {
        conditions.push(format!("state >= '{state}'"));
        if query.before.is_none() {
            conditions.push(format!("state <= '{state}'"));
        }
    }
    if let Some(other) = other {
        conditions.push(other);
    }
    conditions.row_filter(&query.matching);
    if let Some((at, key)) = &query.before {
        let at = conditions.bind(Param::Int(millis_since_epoch(*at)));
        let key = conditions.bind(Param::Text(key.as_str().to_owned()));
        conditions.push(match stored {
            Some(state) => format!("(state, received_at, key) < ('{state}', {at}, {key})"),
            None => format!("(received_at, key) < ({at}, {key})"),
        });
    }
    let order = match stored {
        Some(_) => "state DESC, received_at DESC, key DESC",
        None => "received_at DESC, key DESC",
    };
    let clause = conditions.clause();
    let limit = conditions.bind(Param::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!("SELECT {COLUMNS} FROM {from} WHERE {clause} ORDER BY {order} LIMIT {limit}");
    Ok(Some((sql, conditions.params)))
}

/// How a replay sets a finished row (`now` the placeholder of the time): pending, due now,
/// attempts from zero in a new series, its lease, finish time and last error cleared.
pub(crate) fn revive(now: &str) -> String {
    format!(
        "state = 'pending', attempts = 0, next_at = {now}, lease_until = NULL, \
         finished_at = NULL, last_error = NULL, replays = replays + 1"
    )
}

/// The dead rows that `filter` selects, replayed at `now`: the statement and its parameters.
pub(crate) fn replay_dead_matching(
    dialect: Dialect<'_>,
    filter: &RowFilter,
    now: i64,
) -> (String, Vec<Param>) {
    let table = dialect.table;
    let mut conditions = Where::new(dialect.mark);
    let now = conditions.bind(Param::Int(now));
    conditions.push("state = 'dead'");
    conditions.row_filter(filter);
    let sql = format!(
        "UPDATE {table} SET {} WHERE {}",
        revive(&now),
        conditions.clause()
    );
    (sql, conditions.params)
}

/// The counts of a window's minutes (parameter 1 its start, 2 its end, in ms): rows of kind
/// `received`, `done` and `dead`, by the start of their minute (in ms). Each part is a range of
/// an index: received rows of `(received_at, key)`, finished rows of `(state, finished_at)`.
pub(crate) fn activity(dialect: Dialect<'_>) -> String {
    let table = dialect.table;
    let (start, end) = (dialect.param(1), dialect.param(2));
    let minute = |column: &str| format!("{start} + ({column} - {start}) / 60000 * 60000");
    let finished = |state: &str| {
        format!(
            "SELECT state, {}, count(*) FROM {table} \
             WHERE state = '{state}' AND finished_at >= {start} AND finished_at < {end} \
             GROUP BY 1, 2",
            minute("finished_at")
        )
    };
    format!(
        "SELECT 'received', {}, count(*) FROM {table} \
         WHERE received_at >= {start} AND received_at < {end} GROUP BY 2 \
         UNION ALL {} UNION ALL {}",
        minute("received_at"),
        finished("done"),
        finished("dead")
    )
}

/// The window's bounds as [`activity`]'s parameters, in ms.
pub(crate) fn activity_bounds(window: &ActivityWindow) -> (i64, i64) {
    (
        millis_since_epoch(window.start),
        millis_since_epoch(window.end()),
    )
}

/// Every minute of `window`, with the counts of [`activity`]'s rows (kind, minute start in ms,
/// count) added.
pub(crate) fn activity_minutes(
    window: &ActivityWindow,
    counts: impl IntoIterator<Item = (String, i64, i64)>,
) -> Vec<ActivityMinute> {
    let mut minutes = window.empty_minutes();
    for (kind, minute, count) in counts {
        let Some(slot) = window
            .index(time_from_millis(minute))
            .and_then(|index| minutes.get_mut(index))
        else {
            continue;
        };
        let count = count.unsigned_abs();
        match kind.as_str() {
            "received" => slot.received += count,
            "done" => slot.processed += count,
            "dead" => slot.dead += count,
            _ => {}
        }
    }
    minutes
}

/// The depth counts at parameter 1 (now, in ms), one row: pending rows, those held, those
/// retrying, done rows, dead rows, the oldest pending row's receipt time. Each is counted from an
/// index: by state, of held rows, of retrying rows; the oldest is the first of the pending rows
/// in the state index. The state is a range there, not an equality, so that only that index gives
/// the order asked: with `state = 'pending'` the order is `received_at` alone, and the planner
/// may walk the index by receipt from the oldest row, through every done row before the first
/// pending one (pending rows are the newest).
pub(crate) fn depth(dialect: Dialect<'_>) -> String {
    let table = dialect.table;
    let now = dialect.param(1);
    let (leased, retrying) = (dialect.from("leased"), dialect.from("retrying"));
    format!(
        "SELECT (SELECT count(*) FROM {table} WHERE state = 'pending'), \
                (SELECT count(*) FROM {leased} WHERE state = 'pending' AND lease_until > {now}), \
                (SELECT count(*) FROM {retrying} \
                 WHERE state = 'pending' AND last_error IS NOT NULL), \
                (SELECT count(*) FROM {table} WHERE state = 'done'), \
                (SELECT count(*) FROM {table} WHERE state = 'dead'), \
                (SELECT received_at FROM {table} \
                 WHERE state >= 'pending' AND state <= 'pending' \
                 ORDER BY state, received_at LIMIT 1)"
    )
}

/// [`depth`]'s row as the core's depth.
pub(crate) fn depth_of(counts: [i64; 5], oldest_pending: Option<i64>) -> InboxDepth {
    let [pending, in_flight, retrying, done, dead] = counts.map(i64::unsigned_abs);
    let mut depth = InboxDepth::default();
    depth.pending = pending.saturating_sub(in_flight);
    depth.in_flight = in_flight;
    depth.retrying = retrying;
    depth.done = done;
    depth.dead = dead;
    depth.oldest_pending = oldest_pending.map(time_from_millis);
    depth
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_the_next_code_point_of_its_last_character() {
        assert_eq!(prefix_end("run-1").as_deref(), Some("run-2"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
    }
}
