//! The run as the emulator keeps it, and the JSON shapes the API shows of it.

pub(crate) mod frames;
mod run;
mod views;

pub(crate) use run::{NewRun, Origin, StoredRun, run_error};
pub(crate) use views::{cancel_response, run_object, run_summary, sync_response, webhook_event};
