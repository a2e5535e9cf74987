//! Inbox mode: acknowledge an event once it is stored, then process it with workers that retry
//! on the inbox's own schedule (see [`runhook::inbox`] and `docs/receiving.md`).
//!
//! [`Receiver::with_inbox`](crate::Receiver::with_inbox) turns it on: the receiver inserts each
//! accepted event into the [`Inbox`](runhook::inbox::Inbox) and answers 200 once the insert is
//! committed (a duplicate key: 200 without a second row; a failing inbox: 503). [`InboxWorkers`]
//! then claim due rows (one at a time per run, in order), run the [`InboxProcessor`] under the
//! policy's attempt timeout while renewing the row's lease, and settle each attempt: done,
//! retried at the policy's next time, or dead. Each attempt is reported as an [`InboxReport`].
//! Their settings are one [`InboxConfig`].

mod attempt;
mod config;
mod maintenance;
mod processor;
mod report;
mod workers;

pub use config::InboxConfig;
pub use processor::{InboxProcessor, Processed};
pub use report::{InboxObserver, InboxOutcome, InboxReport};
pub use workers::{InboxWorkers, InboxWorkersBuilder};

pub(crate) use processor::HandlerProcessor;
