//! Inbox mode: acknowledge an event once it is stored, then process it with workers that retry
//! on the inbox's own schedule (see [`runhook::inbox`]).

mod processor;

pub use processor::{InboxProcessor, Processed};
