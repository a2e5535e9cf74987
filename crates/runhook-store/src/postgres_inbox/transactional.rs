//! [`Transactional`]: exactly-once side effects on PostgreSQL, by committing a handler's own
//! writes and the row's done mark in one transaction.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use futures::FutureExt;
use runhook::inbox::{InboxClaim, Settlement};
use runhook::{Event, HandlerOutcome};
use runhook_receiver::inbox::{InboxProcessor, Processed};
use runhook_receiver::{Clock, Received, SystemClock};

use super::PostgresInbox;
use crate::inbox_row::Recorded;
use crate::millis::millis_since_epoch;
use crate::postgres::describe;

/// A handler whose side effects are writes to the inbox's PostgreSQL database, made through the
/// transaction it is given: they commit with the row's done mark, or not at all.
///
/// Return [`HandlerOutcome::Ok`] to commit; `Retry` or `Reject` rolls every write of the
/// attempt back (and the worker retries the row later, or makes it dead). Writes made through
/// another connection are not part of the transaction: they are not exactly-once.
#[async_trait]
pub trait TransactionalHandler: Send + Sync + 'static {
    /// Processes `event`, writing through `transaction` (do not commit or roll it back: the
    /// processor does, from the outcome).
    async fn handle(
        &self,
        transaction: &Transaction<'_>,
        event: &Received<Event>,
    ) -> HandlerOutcome;
}

/// An [`InboxProcessor`] that runs a [`TransactionalHandler`] in a transaction of the inbox's
/// database, holding the row locked, and marks the row done in the same transaction: the
/// handler's writes and the done mark commit together, so they happen exactly once.
///
/// For each claimed row: take a pooled connection, `BEGIN`, `SELECT … FOR UPDATE` the row and
/// check that the claim's token still holds it (otherwise roll back: [`Processed::NotHeld`]),
/// run the handler with the transaction, then:
/// - `Ok`: mark the row done (finish time from the [`Clock`], lease cleared) and `COMMIT`:
///   [`Processed::Done`];
/// - `Retry` or `Reject`, or a panic of the handler (caught): `ROLLBACK`, and
///   [`Processed::Outcome`] with that outcome (a panic as `Retry`), for the worker to settle
///   the row outside the rolled-back transaction;
/// - a database error: roll back, [`Processed::Outcome`] with `Retry` and the error.
///
/// While the transaction runs, the row is locked: another worker's claim skips it whatever its
/// lease (a worker that dies loses its connection, and with it the lock), and a renewal of the
/// row waits for the transaction's end. Each row being processed holds one pooled connection
/// (two while a renewal waits): size the pool for the worker's concurrency.
pub struct Transactional<H> {
    inbox: PostgresInbox,
    handler: H,
    clock: Arc<dyn Clock>,
}

impl PostgresInbox {
    /// A processor that runs `handler` in a transaction of this inbox's database and commits
    /// its writes together with the row's done mark (see [`Transactional`]). Finish times come
    /// from the system clock; see [`Transactional::with_clock`].
    pub fn transactional<H: TransactionalHandler>(&self, handler: H) -> Transactional<H> {
        Transactional {
            inbox: self.clone(),
            handler,
            clock: Arc::new(SystemClock),
        }
    }
}

impl<H: TransactionalHandler> Transactional<H> {
    /// The same processor, taking finish times from `clock` (the receiver's, say).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The handler it runs.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Runs the handler in a transaction; a database error as its message.
    async fn run(&self, claim: &InboxClaim, event: &Received<Event>) -> Result<Processed, String> {
        let sql = &self.inbox.sql;
        let key = claim.entry.key.as_str();
        let Ok(token) = i64::try_from(claim.token.get()) else {
            return Ok(Processed::NotHeld);
        };
        let mut client = self
            .inbox
            .client()
            .await
            .map_err(|error| error.to_string())?;
        let transaction = client.transaction().await.map_err(message)?;
        let lock = transaction
            .prepare_cached(&sql.lock)
            .await
            .map_err(message)?;
        let row = transaction
            .query_opt(&lock, &[&key])
            .await
            .map_err(message)?;
        let held = match &row {
            Some(row) => {
                let holder: i64 = row.try_get(0).map_err(message)?;
                let state: &str = row.try_get(1).map_err(message)?;
                let leased: bool = row.try_get(2).map_err(message)?;
                holder == token && state == "pending" && leased
            }
            None => false,
        };
        if !held {
            // Nothing was written: a failed rollback loses nothing.
            let _ = transaction.rollback().await;
            return Ok(Processed::NotHeld);
        }
        let outcome = AssertUnwindSafe(self.handler.handle(&transaction, event))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                HandlerOutcome::retry(
                    "the handler panicked; its writes were rolled back, retry later",
                )
            });
        if outcome != HandlerOutcome::Ok {
            // Dropped, the transaction rolls back even if this fails.
            let _ = transaction.rollback().await;
            return Ok(Processed::Outcome(outcome));
        }
        let done = transaction
            .prepare_cached(&sql.done)
            .await
            .map_err(message)?;
        let now = self.clock.now();
        let Recorded {
            outcome,
            error,
            next_at,
        } = Recorded::of(&Settlement::Done, now);
        let now = millis_since_epoch(now);
        let marked = transaction
            .execute(&done, &[&key, &token, &now, &outcome, &error, &next_at])
            .await
            .map_err(message)?;
        if marked != 1 {
            let _ = transaction.rollback().await;
            return Ok(Processed::NotHeld);
        }
        transaction.commit().await.map_err(message)?;
        Ok(Processed::Done)
    }
}

#[async_trait]
impl<H: TransactionalHandler> InboxProcessor for Transactional<H> {
    async fn process(&self, claim: &InboxClaim, event: Received<Event>) -> Processed {
        match self.run(claim, &event).await {
            Ok(processed) => processed,
            Err(error) => Processed::Outcome(HandlerOutcome::retry(format!(
                "the inbox transaction failed, nothing was committed: {error}"
            ))),
        }
    }
}

fn message(error: tokio_postgres::Error) -> String {
    format!("PostgreSQL: {}", describe(&error))
}

impl<H> fmt::Debug for Transactional<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transactional")
            .field("inbox", &self.inbox)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}
