//! Writing lines to stdout. A closed stdout (`runhook listen | head -1`) is not an error to
//! report: the command stops quietly and the process exits 0.

use std::io::Write;

mod printer;

pub(crate) use printer::{FLUSH_TIMEOUT, Printer};

/// Standard output was closed by its reader: stop quietly, exit 0 (see `main`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output is closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes one line to stdout and flushes it; [`StdoutClosed`] when the reader has gone.
pub(crate) fn line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(error) => Err(anyhow::Error::new(error).context("cannot write to standard output")),
    }
}

/// Whether `error` (or one of its causes) is [`StdoutClosed`].
pub(crate) fn is_closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StdoutClosed>())
}
