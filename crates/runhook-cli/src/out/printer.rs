//! [`Printer`]: the lines of a long-running command (`listen`, `emulate`, `reconcile`), written
//! to stdout by a thread of their own, so that a delivery's line never waits for the terminal or
//! the pipe on the request path.
//!
//! A line is queued (a bounded queue, [`QUEUE_LINES`]), and the writer thread writes whatever has
//! queued up in one write and one flush: one line at a time when deliveries are few, a batch each
//! time under load. A line is on stdout as soon as the writer gets to it; nothing waits for a
//! batch to fill. When the reader has gone (`runhook listen | head -1`), every later line is
//! dropped and [`closed`](Printer::closed) completes, so that the command stops. When stdout
//! cannot keep up and the queue is full, the line is dropped and counted, and stderr says how many
//! were dropped once the writer catches up: the server's answers never wait for its output.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How many lines may wait for the writer: about 2 MB of typical lines. Past it, lines are
/// dropped (and counted) rather than slowing the requests down.
pub(crate) const QUEUE_LINES: usize = 16_384;

/// How long a command waits, before it exits, for the lines it printed to reach stdout.
pub(crate) const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes written in one write: a batch stops growing past it.
const BATCH_BYTES: usize = 64 * 1024;

/// Lines for stdout, written in order by a thread of their own.
#[derive(Debug)]
pub(crate) struct Printer {
    queue: SyncSender<Message>,
    shared: Arc<Shared>,
}

/// What the printer and its writer thread both see.
#[derive(Debug, Default)]
struct Shared {
    /// Set once a write failed: the reader has gone.
    gone: AtomicBool,
    /// Woken once a write failed.
    closing: Notify,
    /// Lines dropped because the queue was full, not yet reported.
    dropped: AtomicU64,
}

/// What the writer thread is sent.
#[derive(Debug)]
enum Message {
    /// One line, without its newline.
    Line(String),
    /// Answer once every line queued before this one is written.
    Flush(SyncSender<()>),
}

impl Printer {
    /// A printer to this process's stdout.
    pub(crate) fn stdout() -> Printer {
        Printer::to(std::io::stdout(), |dropped| {
            eprintln!(
                "runhook: WARNING: standard output fell behind: {dropped} line(s) were dropped"
            );
        })
    }

    /// A printer to `sink`; `dropped` is told how many lines were dropped since it was last
    /// told, each time the writer catches up after dropping some.
    pub(crate) fn to<W, D>(sink: W, dropped: D) -> Printer
    where
        W: Write + Send + 'static,
        D: Fn(u64) + Send + 'static,
    {
        let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
        let shared = Arc::new(Shared::default());
        let writer = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("runhook-stdout".to_owned())
            .spawn(move || write_lines(&lines, sink, &writer, &dropped));
        if spawned.is_err() {
            // No thread, no output: behave as a closed stdout (the command stops quietly).
            shared.close();
        }
        Printer { queue, shared }
    }

    /// Queues `line` (written without waiting); dropped when the reader has gone, or counted and
    /// dropped when the queue is full.
    pub(crate) fn print(&self, line: String) {
        if self.is_gone() {
            return;
        }
        match self.queue.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => self.shared.close(),
        }
    }

    /// Whether a line could not be written (the reader has gone).
    pub(crate) fn is_gone(&self) -> bool {
        self.shared.gone.load(Ordering::Acquire)
    }

    /// Completes once a line could not be written.
    pub(crate) async fn closed(&self) {
        while !self.is_gone() {
            self.shared.closing.notified().await;
        }
    }

    /// Waits, at most `timeout`, until every line queued so far is written; whether they were.
    /// Blocks the calling thread: call it before the process exits, outside the async runtime.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (ack, written) = mpsc::sync_channel(1);
        let mut flush = Message::Flush(ack);
        loop {
            match self.queue.try_send(flush) {
                Ok(()) => break,
                Err(TrySendError::Full(again)) if Instant::now() < deadline => {
                    flush = again;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return false,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match written.recv_timeout(left) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => false,
        }
    }
}

impl Shared {
    /// The reader has gone: drop every later line and wake who waits for it.
    fn close(&self) {
        self.gone.store(true, Ordering::Release);
        self.closing.notify_one();
    }
}

/// The writer thread: writes each batch of queued lines in one write and one flush, until every
/// [`Printer`] is dropped.
fn write_lines<W: Write>(
    lines: &Receiver<Message>,
    mut sink: W,
    shared: &Shared,
    dropped: &dyn Fn(u64),
) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    let mut acks = Vec::new();
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    batch.extend_from_slice(line.as_bytes());
                    batch.push(b'\n');
                }
                Message::Flush(ack) => acks.push(ack),
            }
            if batch.len() < BATCH_BYTES {
                next = lines.try_recv().ok();
            }
        }
        if !batch.is_empty()
            && !shared.gone.load(Ordering::Acquire)
            && sink.write_all(&batch).and_then(|()| sink.flush()).is_err()
        {
            shared.close();
        }
        batch.clear();
        let lost = shared.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 && !shared.gone.load(Ordering::Acquire) {
            dropped(lost);
        }
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A sink that keeps what it is given, and can be made to fail or to stall.
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicU64>,
        failing: Arc<AtomicBool>,
        stalled: Arc<Mutex<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _stall = self.stalled.lock().unwrap();
            if self.failing.load(Ordering::SeqCst) {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    const WAIT: Duration = Duration::from_secs(30);

    #[test]
    fn lines_come_out_in_order_each_with_its_newline() {
        let sink = Sink::default();
        let printer = Printer::to(sink.clone(), |_| {});
        for i in 0..1000 {
            printer.print(format!("line {i}"));
        }
        assert!(printer.flush(WAIT));
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(sink.text(), expected);
        assert!(!printer.is_gone());
    }

    #[test]
    fn a_backlog_is_written_in_batches_not_a_write_per_line() {
        let sink = Sink::default();
        let printer = Printer::to(sink.clone(), |_| {});
        // Stall the writer while lines queue up, then let it go.
        let stall = sink.stalled.lock().unwrap();
        printer.print("first".to_owned());
        std::thread::sleep(Duration::from_millis(50));
        for i in 0..500 {
            printer.print(format!("queued {i}"));
        }
        drop(stall);
        assert!(printer.flush(WAIT));
        assert_eq!(sink.text().lines().count(), 501);
        let writes = sink.writes.load(Ordering::SeqCst);
        assert!(writes < 50, "{writes} writes for 501 lines");
    }

    #[test]
    fn a_full_queue_drops_lines_and_says_how_many() {
        let sink = Sink::default();
        let told = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&told);
        let printer = Printer::to(sink.clone(), move |n| {
            counted.fetch_add(n, Ordering::SeqCst);
        });
        let stall = sink.stalled.lock().unwrap();
        printer.print("first".to_owned());
        std::thread::sleep(Duration::from_millis(50));
        let extra = 100;
        // The writer holds "first"; the queue takes QUEUE_LINES more (at most one more
        // in the writer's hands), and the rest is dropped.
        for i in 0..QUEUE_LINES + extra {
            printer.print(format!("queued {i}"));
        }
        drop(stall);
        assert!(printer.flush(WAIT));
        let printed = sink.text().lines().count();
        let dropped = told.load(Ordering::SeqCst);
        assert_eq!(
            printed as u64 + dropped,
            (QUEUE_LINES + extra + 1) as u64,
            "every line is either printed or counted"
        );
        assert!(dropped >= extra as u64 - 1, "{dropped} dropped");
    }

    #[tokio::test]
    async fn a_failed_write_closes_the_printer() {
        let sink = Sink::default();
        let printer = Arc::new(Printer::to(sink.clone(), |_| {}));
        printer.print("before".to_owned());
        assert!(
            tokio::task::spawn_blocking({
                let printer = Arc::clone(&printer);
                move || printer.flush(WAIT)
            })
            .await
            .unwrap()
        );
        sink.failing.store(true, Ordering::SeqCst);
        printer.print("lost".to_owned());
        tokio::time::timeout(WAIT, printer.closed()).await.unwrap();
        assert!(printer.is_gone());
        printer.print("after".to_owned());
        assert_eq!(sink.text(), "before\n");
    }

    #[test]
    fn a_flush_is_bounded_when_the_sink_stalls() {
        let sink = Sink::default();
        let printer = Printer::to(sink.clone(), |_| {});
        let _stall = sink.stalled.lock().unwrap();
        printer.print("stuck".to_owned());
        assert!(!printer.flush(Duration::from_millis(50)));
    }
}
