//! Keeping runs in SQLite ([`RunDb`]): one thread owns the connection and handles, in order,
//! each change of a run (written as its JSON beside the columns lists filter on), each eviction
//! and each list query, so a list sees every change made before it. At start the newest
//! `max_runs` runs are read back (older rows are deleted), and runs that were still in progress
//! are marked FAILED with a `SYSTEM_FAILURE` ("the emulator restarted").
//!
//! A row's JSON is a [`StoredRun`]: `{"run": <the run object>, "seq", "url", "origin",
//! "webhook_url", "cancelled_at", "faults"}`. Rows of older versions (one flat object) are read
//! by [`legacy`], and written back in today's form when the run next changes.

mod legacy;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, params_from_iter};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::error::EmulatorError;
use runhook::{ErrorCategory, Nullable, RunError, RunStatus};

use crate::model::StoredRun;
use crate::runs::{ListQuery, Page};
use crate::timefmt;

/// The message of a run found in progress at start.
pub(crate) const RESTARTED: &str = "the emulator restarted";

/// How many changes may wait for the writer; beyond, a change waits for room (backpressure).
const QUEUE: usize = 16 * 1024;

/// The columns a list filters and sorts on, beside the run's JSON.
struct Row {
    run_id: String,
    seq: i64,
    status: String,
    goal: String,
    created_ms: i64,
    json: String,
}

impl Row {
    fn of(run: &StoredRun) -> Option<Row> {
        Some(Row {
            run_id: run.id().to_owned(),
            seq: i64::try_from(run.seq).unwrap_or(i64::MAX),
            status: run.status().as_str().to_owned(),
            goal: run.goal().to_lowercase(),
            created_ms: millis(run.run.created_at.as_ref()?.as_offset_date_time(), false),
            json: serde_json::to_string(run).ok()?,
        })
    }
}

/// Reads a row's JSON, in today's form or an older version's; `None` for a row that is
/// neither (it is skipped rather than stopping the emulator).
fn decode(json: &str) -> Option<StoredRun> {
    let run = serde_json::from_str::<StoredRun>(json).ok().or_else(|| {
        Some(
            serde_json::from_str::<legacy::LegacyRun>(json)
                .ok()?
                .into_stored(),
        )
    })?;
    run.is_sound().then_some(run)
}

/// `t` in milliseconds since 1970, rounded down (or up with `ceil`).
fn millis(t: OffsetDateTime, ceil: bool) -> i64 {
    let nanos = t.unix_timestamp_nanos();
    let mut ms = nanos.div_euclid(1_000_000);
    if ceil && nanos.rem_euclid(1_000_000) != 0 {
        ms += 1;
    }
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

enum Message {
    Save(Row),
    Delete(String),
    List {
        query: ListQuery,
        limit: usize,
        reply: oneshot::Sender<Result<Page, String>>,
    },
    Close,
}

/// The thread that owns the SQLite connection of `--store sqlite:PATH`.
pub(crate) struct RunDb {
    sender: mpsc::SyncSender<Message>,
    thread: Option<JoinHandle<()>>,
}

fn open(path: &Path) -> Result<Connection, rusqlite::Error> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS emulator_runs (
             run_id TEXT PRIMARY KEY,
             seq INTEGER NOT NULL,
             run TEXT NOT NULL
         )",
    )?;
    migrate(&connection)?;
    connection.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS emulator_runs_seq ON emulator_runs (seq);
         CREATE INDEX IF NOT EXISTS emulator_runs_status_seq ON emulator_runs (status, seq);
         CREATE INDEX IF NOT EXISTS emulator_runs_created ON emulator_runs (created_ms, seq);",
    )?;
    Ok(connection)
}

/// Adds the list columns to a database written by an older version, and fills them in.
fn migrate(connection: &Connection) -> Result<(), rusqlite::Error> {
    let mut columns = Vec::new();
    let mut statement = connection.prepare("PRAGMA table_info(emulator_runs)")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        columns.push(row.get::<_, String>(1)?);
    }
    if columns.iter().any(|c| c == "status") {
        return Ok(());
    }
    connection.execute_batch(
        "ALTER TABLE emulator_runs ADD COLUMN status TEXT;
         ALTER TABLE emulator_runs ADD COLUMN goal TEXT;
         ALTER TABLE emulator_runs ADD COLUMN created_ms INTEGER;",
    )?;
    let mut statement = connection.prepare("SELECT run FROM emulator_runs")?;
    let runs: Vec<StoredRun> = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .filter_map(|json| decode(&json.ok()?))
        .collect();
    for run in &runs {
        if let Some(row) = Row::of(run) {
            upsert(connection, &row)?;
        }
    }
    // Rows this version cannot read are dropped rather than listed without columns.
    connection.execute("DELETE FROM emulator_runs WHERE status IS NULL", [])?;
    Ok(())
}

impl RunDb {
    /// Opens (or creates) the database at `path` and returns its newest `max_runs` runs in
    /// creation order (older ones are deleted), runs in progress already marked FAILED (and
    /// written back). Blocking: call it off the async runtime.
    pub(crate) fn open(
        path: &Path,
        max_runs: usize,
    ) -> Result<(RunDb, Vec<StoredRun>), EmulatorError> {
        let fail = |source| EmulatorError::Store {
            path: PathBuf::from(path),
            source,
        };
        let connection = open(path).map_err(fail)?;
        let mut runs = load(&connection, max_runs).map_err(fail)?;
        let now = timefmt::stamp(timefmt::now());
        for run in &mut runs {
            if run.status().is_terminal() {
                continue;
            }
            run.set_status(RunStatus::Failed);
            run.run.finished_at = Nullable::Value(now.clone());
            run.run.result = Nullable::Null;
            let mut error = RunError::new(RESTARTED);
            error.category = Nullable::Value(ErrorCategory::SystemFailure);
            run.run.error = Nullable::Value(error);
            if let Some(row) = Row::of(run) {
                upsert(&connection, &row).map_err(fail)?;
            }
        }
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("emulator-sqlite".into())
            .spawn(move || serve(&connection, &receiver))
            .map_err(|e| EmulatorError::Listener(std::io::Error::other(e)))?;
        Ok((
            RunDb {
                sender,
                thread: Some(thread),
            },
            runs,
        ))
    }

    /// Queues `run` to be written.
    pub(crate) fn save(&self, run: &StoredRun) {
        if let Some(row) = Row::of(run) {
            let _ = self.sender.send(Message::Save(row));
        }
    }

    /// Queues the deletion of run `id` (evicted).
    pub(crate) fn delete(&self, id: String) {
        let _ = self.sender.send(Message::Delete(id));
    }

    /// Queues a list query, answered on the returned channel once every change queued before
    /// it is written.
    pub(crate) fn list(
        &self,
        query: ListQuery,
        limit: usize,
    ) -> oneshot::Receiver<Result<Page, String>> {
        let (reply, answer) = oneshot::channel();
        let _ = self.sender.send(Message::List {
            query,
            limit,
            reply,
        });
        answer
    }

    /// Writes what is queued and stops the writer thread. Blocking: call it off the async
    /// runtime.
    pub(crate) fn close(&mut self) {
        let _ = self.sender.send(Message::Close);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunDb {
    fn drop(&mut self) {
        self.close();
    }
}

/// The newest `max_runs` runs, oldest first; older rows are deleted.
fn load(connection: &Connection, max_runs: usize) -> Result<Vec<StoredRun>, rusqlite::Error> {
    let limit = i64::try_from(max_runs).unwrap_or(i64::MAX);
    connection.execute(
        "DELETE FROM emulator_runs WHERE seq NOT IN
             (SELECT seq FROM emulator_runs ORDER BY seq DESC LIMIT ?1)",
        [limit],
    )?;
    let mut statement = connection.prepare("SELECT run FROM emulator_runs ORDER BY seq")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut runs = Vec::new();
    for row in rows {
        // A row this version cannot read is skipped rather than stopping the emulator.
        if let Some(run) = decode(&row?) {
            runs.push(run);
        }
    }
    Ok(runs)
}

fn upsert(connection: &Connection, row: &Row) -> Result<(), rusqlite::Error> {
    connection
        .prepare_cached(
            "INSERT INTO emulator_runs (run_id, seq, run, status, goal, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (run_id) DO UPDATE SET run = excluded.run, status = excluded.status",
        )?
        .execute(rusqlite::params![
            row.run_id,
            row.seq,
            row.json,
            row.status,
            row.goal,
            row.created_ms
        ])?;
    Ok(())
}

/// The `WHERE` clause of `query` (without its cursor) and its parameters.
fn filters(query: &ListQuery) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as Sql;
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    if let Some(status) = &query.status {
        clauses.push("status = ?");
        values.push(Sql::Text(status.as_str().to_owned()));
    }
    if let Some(goal) = &query.goal {
        clauses.push("instr(goal, ?) > 0");
        values.push(Sql::Text(goal.clone()));
    }
    if let Some(after) = query.after {
        clauses.push("created_ms > ?");
        values.push(Sql::Integer(millis(after, false)));
    }
    if let Some(before) = query.before {
        clauses.push("created_ms < ?");
        values.push(Sql::Integer(millis(before, true)));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (clause, values)
}

/// A page of runs, with `LIMIT` and the filters in SQL.
fn list(connection: &Connection, query: &ListQuery, limit: usize) -> Result<Page, rusqlite::Error> {
    use rusqlite::types::Value as Sql;
    let (clause, mut values) = filters(query);
    let total: i64 = connection
        .prepare_cached(&format!("SELECT COUNT(*) FROM emulator_runs{clause}"))?
        .query_row(params_from_iter(values.iter()), |row| row.get(0))?;
    let mut sql = format!("SELECT run FROM emulator_runs{clause}");
    if let Some(cursor) = query.cursor {
        sql.push_str(if clause.is_empty() { " WHERE" } else { " AND" });
        sql.push_str(if query.descending {
            " seq < ?"
        } else {
            " seq > ?"
        });
        values.push(Sql::Integer(i64::try_from(cursor).unwrap_or(i64::MAX)));
    }
    sql.push_str(if query.descending {
        " ORDER BY seq DESC LIMIT ?"
    } else {
        " ORDER BY seq ASC LIMIT ?"
    });
    values.push(Sql::Integer(
        i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
    ));
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(values.iter()), |row| {
        row.get::<_, String>(0)
    })?;
    let mut runs = Vec::new();
    for row in rows {
        // A row this version cannot read is left out of the page.
        if let Some(run) = decode(&row?) {
            runs.push(run);
        }
    }
    let more = runs.len() > limit;
    runs.truncate(limit);
    Ok(Page {
        next: if more {
            runs.last().map(|run| run.seq)
        } else {
            None
        },
        runs,
        total: usize::try_from(total).unwrap_or_default(),
    })
}

/// The writer thread: handles the messages in order until `Close`.
fn serve(connection: &Connection, receiver: &mpsc::Receiver<Message>) {
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Save(row) => {
                if let Err(error) = upsert(connection, &row) {
                    eprintln!("runhook-emulator: cannot save run {}: {error}", row.run_id);
                }
            }
            Message::Delete(id) => {
                if let Err(error) =
                    connection.execute("DELETE FROM emulator_runs WHERE run_id = ?1", [&id])
                {
                    eprintln!("runhook-emulator: cannot delete run {id}: {error}");
                }
            }
            Message::List {
                query,
                limit,
                reply,
            } => {
                let _ = reply.send(list(connection, &query, limit).map_err(|e| e.to_string()));
            }
            Message::Close => break,
        }
    }
}

#[cfg(test)]
mod tests;
