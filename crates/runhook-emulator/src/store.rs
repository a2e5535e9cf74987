//! Keeping runs in SQLite: each change of a run is written (as its JSON) by one writer thread,
//! in order; at start every run is read back, and runs that were still in progress are marked
//! FAILED with a `SYSTEM_FAILURE` ("the emulator restarted").

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::{Connection, params};

use crate::error::EmulatorError;
use crate::model::{ErrorInfo, Run};
use crate::timefmt;

/// The message of a run found in progress at start.
pub(crate) const RESTARTED: &str = "the emulator restarted";

enum Message {
    Save {
        run_id: String,
        seq: u64,
        json: String,
    },
    Close,
}

/// The writer thread of a SQLite store.
pub(crate) struct SqliteStore {
    sender: mpsc::Sender<Message>,
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
    Ok(connection)
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and returns its runs in creation order, runs in
    /// progress already marked FAILED (and written back).
    pub(crate) fn open(path: &Path) -> Result<(SqliteStore, Vec<Run>), EmulatorError> {
        let fail = |source| EmulatorError::Store {
            path: PathBuf::from(path),
            source,
        };
        let connection = open(path).map_err(fail)?;
        let mut runs = load(&connection).map_err(fail)?;
        let now = timefmt::now();
        for run in &mut runs {
            if run.status.is_terminal() {
                continue;
            }
            run.status = crate::model::RunStatus::Failed;
            run.finished_at = Some(now);
            run.result = None;
            run.error = Some(ErrorInfo {
                category: "SYSTEM_FAILURE".into(),
                message: RESTARTED.into(),
                code: None,
                retry_after: None,
            });
            save(&connection, run).map_err(fail)?;
        }
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("emulator-sqlite".into())
            .spawn(move || write_loop(&connection, &receiver))
            .map_err(|e| EmulatorError::Listener(std::io::Error::other(e)))?;
        Ok((
            SqliteStore {
                sender,
                thread: Some(thread),
            },
            runs,
        ))
    }

    /// Queues `run` to be written.
    pub(crate) fn save(&self, run: &Run) {
        if let Ok(json) = serde_json::to_string(run) {
            let _ = self.sender.send(Message::Save {
                run_id: run.run_id.clone(),
                seq: run.seq,
                json,
            });
        }
    }

    /// Writes what is queued and stops the writer thread.
    pub(crate) fn close(&mut self) {
        let _ = self.sender.send(Message::Close);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn load(connection: &Connection) -> Result<Vec<Run>, rusqlite::Error> {
    let mut statement = connection.prepare("SELECT run FROM emulator_runs ORDER BY seq")?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut runs = Vec::new();
    for row in rows {
        // A row this version cannot read is skipped rather than stopping the emulator.
        if let Ok(run) = serde_json::from_str::<Run>(&row?) {
            runs.push(run);
        }
    }
    Ok(runs)
}

fn save(connection: &Connection, run: &Run) -> Result<(), rusqlite::Error> {
    let json = serde_json::to_string(run)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    upsert(connection, &run.run_id, run.seq, &json)
}

fn upsert(
    connection: &Connection,
    run_id: &str,
    seq: u64,
    json: &str,
) -> Result<(), rusqlite::Error> {
    connection.execute(
        "INSERT INTO emulator_runs (run_id, seq, run) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id) DO UPDATE SET run = excluded.run",
        params![run_id, i64::try_from(seq).unwrap_or(i64::MAX), json],
    )?;
    Ok(())
}

fn write_loop(connection: &Connection, receiver: &mpsc::Receiver<Message>) {
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Save { run_id, seq, json } => {
                if let Err(error) = upsert(connection, &run_id, seq, &json) {
                    eprintln!("runhook-emulator: cannot save run {run_id}: {error}");
                }
            }
            Message::Close => break,
        }
    }
}
