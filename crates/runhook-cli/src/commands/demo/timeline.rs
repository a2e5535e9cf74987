//! The demo's output: timestamped lines (seconds since start), and a progress line while it
//! waits, rewritten in place on a terminal and printed as plain lines (on change) otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where the demo's lines go.
pub(super) struct Timeline {
    start: Instant,
    tty: bool,
    state: Mutex<State>,
    closed: AtomicBool,
}

#[derive(Default)]
struct State {
    /// A progress line is on screen without its newline (terminal only).
    progress_shown: bool,
    /// The last progress text, so a pipe gets one line per change.
    last_progress: String,
}

impl Timeline {
    /// A timeline starting now.
    pub(super) fn new() -> Self {
        Timeline {
            start: Instant::now(),
            tty: std::io::stdout().is_terminal(),
            state: Mutex::new(State::default()),
            closed: AtomicBool::new(false),
        }
    }

    /// Time since start.
    pub(super) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// `  1.23s  TEXT`.
    pub(super) fn line(&self, text: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let clear = if std::mem::take(&mut state.progress_shown) {
            "\r\x1b[2K"
        } else {
            ""
        };
        self.write(&format!("{clear}{}  {text}\n", stamp(self.elapsed())));
    }

    /// A line without a timestamp (the summary).
    pub(super) fn plain(&self, text: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let clear = if std::mem::take(&mut state.progress_shown) {
            "\r\x1b[2K"
        } else {
            ""
        };
        self.write(&format!("{clear}{text}\n"));
    }

    /// The progress line `  1.23s  waiting   TEXT`: rewritten on a terminal; on a pipe, a
    /// plain line when TEXT changed.
    pub(super) fn progress(&self, text: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let line = format!("{}  waiting   {text}", stamp(self.elapsed()));
        if self.tty {
            state.progress_shown = true;
            self.write(&format!("\r\x1b[2K{line}"));
        } else if state.last_progress != text {
            state.last_progress = text.to_owned();
            self.write(&format!("{line}\n"));
        }
    }

    /// Whether stdout was closed by its reader.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn write(&self, text: &str) {
        if self.is_closed() {
            return;
        }
        let mut out = std::io::stdout().lock();
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            self.closed.store(true, Ordering::Relaxed);
        }
    }
}

/// `  1.23s`: seconds since start, right-aligned.
pub(super) fn stamp(elapsed: Duration) -> String {
    format!("{:>6.2}s", elapsed.as_secs_f64())
}
