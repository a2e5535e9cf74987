//! The one supervisor of a running handler, in both modes: it holds the lease while the handler
//! runs, stops the handler at its run limit, at the end of a shutdown's grace period, or when the
//! lease is lost, and gives a stopped handler [`WIND_DOWN`] to return.
//!
//! **The lease rule.** A handler runs only while its lease is held. The lease is lost when the
//! store answers a renewal with "not held" (another delivery or worker took it over), or when it
//! runs out without a successful renewal (renewals kept failing or hanging). Either way the
//! handler is cancelled, given [`WIND_DOWN`] to return, and whatever it returns is not recorded:
//! the claim is no longer this process's to complete, and another holder may process the event.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use runhook::inbox::Inbox;
use runhook::store::{ClaimToken, IdempotencyKey, IdempotencyStore, StoreError};
use tokio::time::{Instant, interval_at, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::Clock;

/// How long a handler asked to stop (cancelled) may take to return before it is dropped.
pub(crate) const WIND_DOWN: Duration = Duration::from_secs(1);

/// Where a lease is held: the idempotency store (inline mode) or the inbox (inbox mode).
#[derive(Clone, Copy)]
pub(crate) enum Renewer<'a> {
    Store(&'a dyn IdempotencyStore),
    Inbox(&'a dyn Inbox),
}

impl<'a> Renewer<'a> {
    /// Extends the lease of `key`, held with `token`, to `lease` from `now`.
    fn renew(
        self,
        key: &'a IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        match self {
            Renewer::Store(store) => store.renew(key, token, now, lease),
            Renewer::Inbox(inbox) => inbox.renew(key, token, now, lease),
        }
    }
}

/// A lease held while the handler runs, and how to keep it.
pub(crate) struct Lease<'a> {
    /// Where it is held.
    pub(crate) renewer: Renewer<'a>,
    /// The key it is held on.
    pub(crate) key: &'a IdempotencyKey,
    /// The token that proves it.
    pub(crate) token: ClaimToken,
    /// How long each renewal extends it.
    pub(crate) length: Duration,
    /// How often it is renewed (under `length`).
    pub(crate) period: Duration,
    /// The longest one renewal may take.
    pub(crate) store_timeout: Duration,
    /// The wall clock passed to the renewals.
    pub(crate) clock: &'a dyn Clock,
}

/// How a supervised handler's lease was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaseLost {
    /// The store said the lease is not held any more: another delivery or worker took it.
    TakenOver,
    /// The lease ran out without a successful renewal.
    RanOut,
}

/// How a supervised handler ended.
pub(crate) enum Supervised<T> {
    /// It returned (or panicked), possibly while winding down after a timeout or a shutdown.
    Finished(T),
    /// It ran past its run limit and did not return within [`WIND_DOWN`] of being cancelled.
    TimedOut,
    /// A shutdown's grace period ended, and it did not return within [`WIND_DOWN`].
    Stopped,
    /// Its lease was lost; whatever it returned is not recorded.
    LeaseLost(LeaseLost),
}

/// What a handler runs under.
pub(crate) struct Supervisor<'a> {
    /// The lease to hold while it runs; none for an event without an idempotency key.
    pub(crate) lease: Option<Lease<'a>>,
    /// The longest it may run.
    pub(crate) limit: Duration,
    /// Cancelled at the end of a shutdown's grace period.
    pub(crate) stop: &'a CancellationToken,
}

impl Supervisor<'_> {
    /// Waits for `running`, renewing the lease every period while it runs. On its run limit, the
    /// end of a shutdown's grace period or a lost lease, cancels `cancellation` (the handler
    /// sees [`HandlerContext::is_cancelled`](crate::HandlerContext::is_cancelled)) and gives it
    /// [`WIND_DOWN`] to return: after a timeout or a shutdown, what it returns then stands;
    /// after a lost lease, it does not.
    ///
    /// Renewals run beside the handler, each bounded by the store timeout, so a slow store never
    /// holds the handler up. A handler that finishes at its first poll (most do) needs no timer.
    pub(crate) async fn supervise<T>(
        &self,
        running: impl Future<Output = T>,
        cancellation: &CancellationToken,
    ) -> Supervised<T> {
        let started = Instant::now();
        let mut running = pin!(running);
        if let Poll::Ready(finished) = poll_fn(|cx| Poll::Ready(running.as_mut().poll(cx))).await {
            return Supervised::Finished(finished);
        }
        let renewals = pin!(async {
            match &self.lease {
                Some(lease) => lease.hold(started).await,
                None => std::future::pending().await,
            }
        });
        let ended = tokio::select! {
            biased;
            finished = &mut running => return Supervised::Finished(finished),
            lost = renewals, if self.lease.is_some() => Supervised::LeaseLost(lost),
            () = sleep_until(started + self.limit) => Supervised::TimedOut,
            () = self.stop.cancelled() => Supervised::Stopped,
        };
        cancellation.cancel();
        let wound_down = timeout(WIND_DOWN, &mut running).await;
        match (wound_down, ended) {
            (_, lost @ Supervised::LeaseLost(_)) => lost,
            (Ok(finished), _) => Supervised::Finished(finished),
            (Err(_), ended) => ended,
        }
    }
}

impl Lease<'_> {
    /// Renews the lease every period from `started`; returns once it is lost: the store says it
    /// is not held, or it has run out without a successful renewal. A failed or slow renewal
    /// before that is logged and tried again next period.
    async fn hold(&self, started: Instant) -> LeaseLost {
        let key = self.key;
        let mut ticks = interval_at(started + self.period, self.period);
        // The lease as this process last knew it held: from the claim, then each renewal.
        let mut held_until = started + self.length;
        loop {
            ticks.tick().await;
            if Instant::now() >= held_until {
                return ran_out(key);
            }
            let asked = Instant::now();
            let renewal = self
                .renewer
                .renew(key, self.token, self.clock.now(), self.length);
            // A renewal still unanswered when the lease runs out cannot save it.
            match timeout_at((asked + self.store_timeout).min(held_until), renewal).await {
                Ok(Ok(())) => held_until = asked + self.length,
                Ok(Err(StoreError::NotHeld { .. })) => {
                    tracing::warn!(
                        key = %key,
                        "the lease was taken over while the handler ran; stopping it"
                    );
                    return LeaseLost::TakenOver;
                }
                Ok(Err(error)) => tracing::warn!(
                    key = %key,
                    %error,
                    "could not renew the lease while the handler runs; trying again next period"
                ),
                Err(_) if Instant::now() >= held_until => return ran_out(key),
                Err(_) => tracing::warn!(
                    key = %key,
                    timeout = ?self.store_timeout,
                    "the store did not renew the lease in time; trying again next period"
                ),
            }
        }
    }
}

/// Logs a lease that ran out without a renewal.
fn ran_out(key: &IdempotencyKey) -> LeaseLost {
    tracing::warn!(
        key = %key,
        "the lease ran out without a successful renewal; stopping the handler (another delivery \
         may take the event over)"
    );
    LeaseLost::RanOut
}
