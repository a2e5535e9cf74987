//! Sending webhooks: the retry policy and the delivery state machine (docs/protocol.md §2, §4.1).
//!
//! Like quinn-proto and str0m, this module contains no networking code and reads no clock: the
//! driver (runhook-dispatch, a test, a simulation) owns the HTTP client and the timer, feeds in
//! what happened with the current instant, and drains what to do next.
//!
//! - [`RetryPolicy`]: attempts, timeout, backoff and jitter, and [`RetryPolicy::classify`], the
//!   pure mapping from an [`AttemptResult`] to a [`RetryDecision`]. Two presets:
//!   [`RetryPolicy::tinyfish`] (the documented table, exactly) and [`RetryPolicy::standard`]
//!   (and [`RetryPolicy::inbox`], an inbox's own schedule).
//! - [`Delivery`]: one event to one endpoint, from the first attempt to an [`DeliveryOutcome`], with an
//!   attempt log.
//! - [`parse_retry_after`]: the `Retry-After` header, in seconds or as an HTTP-date, and
//!   [`RetryAfterRule`], the one rule for what it does: at least the server's wait, capped, never
//!   sooner than the schedule.
//!
//! # The drain contract
//!
//! After [`Delivery::new`] and after every [`Delivery::handle_result`], call
//! [`Delivery::poll_action`] with the current instant and do what it says:
//!
//! - [`DeliveryAction::Send`] `{ attempt, deadline }`: start attempt `attempt` now, and abort it at
//!   `deadline`. Returning `Send` is what starts the attempt, so it is returned once per attempt.
//!   Feed its result with `handle_result(now, result)`, then poll again.
//! - [`DeliveryAction::WaitUntil`]`(t)`: nothing to do before `t`. While an attempt is in flight, `t` is
//!   its deadline: if the machine is polled at or after it with no result fed, it records
//!   [`AttemptResult::Timeout`] itself (ending the attempt at its deadline) and moves on. After a
//!   retryable result with attempts left, `t` is the end of that attempt plus the wait (the
//!   schedule's, jittered; lengthened to the server's `Retry-After`, capped, when the policy
//!   honours it and it is longer: [`RetryAfterRule`]), and
//!   the next `Send` comes from the first poll at or after `t`, never before.
//! - [`DeliveryAction::Done`]`(outcome)`: over; every later poll returns the same.
//!
//! A result fed while no attempt is in flight (before the first `Send`, during a wait, after the
//! machine recorded a timeout, or once done) is ignored: it cannot belong to any attempt. If the
//! driver feeds every result by its deadline, a delivery takes at most the sum of its waits plus
//! `attempts × timeout` ([`RetryPolicy::max_total_time`] bounds it for a whole policy).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use runhook::delivery::{AttemptResult, Delivery, DeliveryOutcome, DeliveryAction, RetryPolicy};
//!
//! // A virtual clock: the driver of a real client sleeps until each `WaitUntil` instead.
//! let start = Instant::now();
//! let mut now = start;
//! let mut endpoint = [503, 502, 200].into_iter(); // what the endpoint will answer
//! let mut delivery = Delivery::new(RetryPolicy::tinyfish(), now);
//! let outcome = loop {
//!     match delivery.poll_action(now) {
//!         DeliveryAction::Send { attempt, deadline } => {
//!             // POST the event here, giving up at `deadline`.
//!             assert!(deadline - now == Duration::from_secs(10), "attempt {attempt}");
//!             let status = endpoint.next().expect("three answers");
//!             delivery.handle_result(now, AttemptResult::status(status));
//!         }
//!         DeliveryAction::WaitUntil(instant) => now = instant,
//!         DeliveryAction::Done(outcome) => break outcome,
//!         _ => unreachable!("a future kind of output"),
//!     }
//! };
//! assert_eq!(outcome, DeliveryOutcome::Delivered { attempts: 3, status: 200 });
//! assert_eq!(now - start, Duration::from_secs(1 + 2)); // waited 1 s, then 2 s
//! ```

mod attempt;
mod builder;
mod classify;
mod jitter;
mod machine;
mod policy;
mod retry_after;

pub use attempt::{AttemptRecord, AttemptResult, DeliveryOutcome, NetworkErrorKind};
pub use builder::{PolicyError, RetryPolicyBuilder};
pub use classify::{RetryDecision, StatusClass};
pub use jitter::Jitter;
pub use machine::{Delivery, DeliveryAction};
pub use policy::{Backoff, RetryPolicy};
pub use retry_after::{RetryAfterRule, parse_retry_after};
