//! Reconciliation: the runs API as a second path to the receiver, for the runs whose webhooks
//! never arrived.
//!
//! TinyFish gives up on a webhook after 4 attempts, within about 47 s; a run that ends while its
//! receiver is down for longer is never delivered. A sweep lists the runs created since a
//! **watermark**, sends every terminal run the receiver has not seen down the same path as a
//! webhook, marked with [`Source::Reconciler`], and keeps the runs still in progress on a
//! **watch list**, checked again at each sweep until they end.
//!
//! This module holds what needs no IO: the [`Source`] of an event, the [`ReconcileState`] trait
//! (watermark and watch list) with its in-memory reference [`MemoryReconcileState`], and the
//! sweep's time rules ([`list_from`], [`advance`], [`expired`]). The sweep itself is
//! `runhook_receiver::reconcile::Reconciler`; durable states are in `runhook-store`.

mod source;
mod state;
mod window;

pub use source::Source;
pub use state::{MemoryReconcileState, ReconcileState, WatchedRun};
pub use window::{DEFAULT_LOOKBACK, DEFAULT_OVERLAP, advance, expired, list_from};
