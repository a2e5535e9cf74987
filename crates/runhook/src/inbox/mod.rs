//! The inbox: acknowledge an event as soon as it is stored, then process it with the receiver's
//! own retries, for as long as it takes.
//!
//! A sender gives a receiver a few seconds and a few attempts. A handler that is slower than
//! that, or that fails after the sender gave up, loses the event. With an inbox, the receiver
//! **inserts** the event (its raw bytes and metadata, keyed by its idempotency key) and answers
//! 200 once the insert is committed; a duplicate finds its key already there and is answered 200
//! without a second row. Workers then **claim** due rows with a lease, run the handler and
//! **settle** each row: done, retry at a later time, or dead (rejected, or out of attempts).
//! [`decide_attempt`] is that decision, pure: from the policy, the row, the time and what the
//! attempt came to ([`Attempted`]), the [`Settlement`] to write.
//!
//! - A claim holds a lease: a worker that dies loses its rows when the lease runs out, and
//!   another worker takes them again. A settle or renew with a token that lost its row is
//!   refused ([`StoreError::NotHeld`](crate::StoreError::NotHeld)).
//! - Rows of one `run_id` are processed one at a time, in the order received; different runs run
//!   in parallel.
//! - Nothing is deleted before it is done, or dead: [`Inbox::purge`] removes only finished rows.
//!
//! Time is an argument of every operation; nothing here reads a clock. [`MemoryInbox`] defines
//! the semantics in memory (for tests: it is not durable); `runhook-store` has durable backends
//! (SQLite and PostgreSQL).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use runhook::inbox::{Inbox, NewInboxEntry, Inserted, MemoryInbox, Settlement};
//! use runhook::store::IdempotencyKey;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), runhook::StoreError> {
//! let inbox = MemoryInbox::new();
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
//! let body = br#"{"event":"run.completed","run_id":"r1","status":"COMPLETED","data":{}}"#;
//! let record = NewInboxEntry::new(IdempotencyKey::new("r1"), "run.completed", now, body.to_vec())
//!     .with_run_id("r1");
//!
//! assert_eq!(inbox.insert(record.clone(), now).await?, Inserted::New);
//! assert!(matches!(inbox.insert(record, now).await?, Inserted::Duplicate(_))); // no second row
//!
//! let claims = inbox.claim_due(now, Duration::from_secs(30), 10).await?;
//! assert_eq!(claims.len(), 1);
//! let claim = &claims[0];
//! assert_eq!(claim.entry.attempts, 1);
//! inbox.settle(&claim.entry.key, claim.token, now, Settlement::Done).await?;
//! # Ok(()) }
//! ```

mod browse;
mod decide;
mod entry;
mod memory;
mod operations;
mod policy;

pub use browse::{
    ATTEMPT_HISTORY_LIMIT, ActivityMinute, ActivityWindow, AttemptOutcome, BROWSE_LIMIT_MAX,
    BrowseQuery, InboxAttempt,
};
pub use decide::{Attempted, decide_attempt, jitter_seed};
#[allow(deprecated)]
pub use entry::InboxRecord;
pub use entry::{
    InboxClaim, InboxDepth, InboxEntry, InboxFilter, InboxState, Inserted, NewInboxEntry,
    RowFilter, RowState,
};
pub use memory::MemoryInbox;
pub use operations::{Inbox, Purge, Settlement};
pub use policy::InboxPolicy;

use std::time::Duration;

/// The default lease of an inbox claim: 30 seconds, renewed while the handler runs.
pub const DEFAULT_INBOX_LEASE: Duration = Duration::from_secs(30);
