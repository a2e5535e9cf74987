//! What the target's answers say, tracked per forwarder (one target) and told once per change
//! rather than once per row: whether they say the relay is misconfigured, and whether the
//! target is up or down (with a periodic count of the rows waiting while it is down, and its
//! waiting rows pulled forward when it comes back: [`outage`](super::outage)).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use runhook::inbox::Inbox;
use tokio::time::Instant;

use super::outage::{self, Outage};
use super::policy::MISCONFIGURED;
use crate::sender::Target;

/// A change in what the target's answers say, reported once per change (not once per row) to
/// the forwarder's observer
/// ([`ForwarderBuilder::on_health_change`](super::ForwarderBuilder::on_health_change)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetHealth {
    /// The target answered one of the [`MISCONFIGURED`] statuses (404, 405, 501): a wrong
    /// path, method or app. Rows are retried on the policy (dead only at its limit) until the
    /// target answers otherwise.
    Misconfigured {
        /// The status it answered.
        status: u16,
    },
    /// After a misconfigured answer, the target answered another status.
    Answering {
        /// The status it answered.
        status: u16,
    },
    /// The target is down: forwards in a row (the forwarder's
    /// [`down_after`](super::ForwarderBuilder::down_after)) got no answer (a network error, a
    /// timeout) or a 5xx. Rows keep their retry schedule; the target's failures are its own,
    /// not the rows': a caller printing one line per failed attempt can hold those back while
    /// [`Forwarder::is_down`](super::Forwarder::is_down).
    Down {
        /// What the last of those forwards came to.
        error: String,
    },
    /// The target is still down: told every
    /// [`still_down_every`](super::ForwarderBuilder::still_down_every) while it is.
    StillDown {
        /// The rows not yet forwarded (pending, held or not), if the forwarder knows its inbox
        /// ([`Forwarder::with_inbox`](super::Forwarder::with_inbox)).
        waiting: Option<u64>,
        /// How long it has been down, from the first of the failures that made it down.
        down_for: Duration,
    },
    /// The target answered 2xx again after being down. The rows that waited for a later attempt
    /// were made due at once (with an inbox), so they go now rather than at their scheduled
    /// times, at most the workers' concurrency at a time.
    Up {
        /// The waiting rows made due at once, if the forwarder knows its inbox.
        waiting: Option<u64>,
        /// How long it was down.
        down_for: Duration,
    },
}

/// The observer of [`TargetHealth`] changes.
pub(super) type HealthObserver = Box<dyn Fn(&Target, &TargetHealth) + Send + Sync>;

/// What the target's answers said last; see the [module docs](self).
pub(super) struct Health {
    state: Mutex<State>,
    observer: Option<HealthObserver>,
    /// Failures in a row that make the target down.
    pub(super) down_after: u32,
    /// How often a target down is probed.
    pub(super) probe_every: Duration,
    /// How often a target still down is told.
    pub(super) still_down_every: Duration,
}

/// The state behind [`Health`]'s lock.
#[derive(Debug, Default)]
pub(super) struct State {
    /// The last misconfigured status, while the target keeps answering one.
    misconfigured: Option<u16>,
    /// Whether the target is up or down.
    pub(super) outage: Outage,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("state", &*self.lock())
            .field("observer", &self.observer.is_some())
            .field("down_after", &self.down_after)
            .field("probe_every", &self.probe_every)
            .field("still_down_every", &self.still_down_every)
            .finish()
    }
}

impl Health {
    pub(super) fn new(
        observer: Option<HealthObserver>,
        down_after: u32,
        probe_every: Duration,
        still_down_every: Duration,
    ) -> Self {
        Health {
            state: Mutex::new(State::default()),
            observer,
            down_after: down_after.max(1),
            probe_every: probe_every.max(Duration::from_millis(1)),
            still_down_every: still_down_every.max(Duration::from_millis(1)),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the observer of `change` (under the lock, held by the caller: the observer sees the
    /// changes in the order they were made).
    pub(super) fn tell(&self, target: &Target, change: &TargetHealth) {
        if let Some(observer) = &self.observer {
            observer(target, change);
        }
    }

    /// The misconfigured status the target answered last, if it is in that state.
    pub(super) fn current(&self) -> Option<u16> {
        self.lock().misconfigured
    }

    /// Whether the target is down.
    pub(super) fn is_down(&self) -> bool {
        self.lock().outage.is_down()
    }

    /// Records that `target` answered `status`; returns the change it makes to what the answers
    /// say about the relay's configuration, if any, after logging it and telling the observer.
    /// Concurrent answers are serialised, so each change is told once.
    pub(super) fn answered(&self, target: &Target, status: u16) -> Option<TargetHealth> {
        let mut state = self.lock();
        let now = MISCONFIGURED.contains(&status).then_some(status);
        if state.misconfigured == now {
            return None;
        }
        state.misconfigured = now;
        let change = match now {
            Some(status) => TargetHealth::Misconfigured { status },
            None => TargetHealth::Answering { status },
        };
        match change {
            TargetHealth::Misconfigured { status } => tracing::warn!(
                url = %target.without_query(),
                status,
                "the forward target answers a status that says the relay is misconfigured; rows \
                 are retried, not dead"
            ),
            _ => tracing::info!(
                url = %target.without_query(),
                status,
                "the forward target answers normally again"
            ),
        }
        self.tell(target, &change);
        Some(change)
    }

    /// Records a forward to `target` that failed for the target (no answer, or a 5xx) with
    /// `error`; after [`down_after`](Self::down_after) in a row the target is down: told once,
    /// then every [`still_down_every`](Self::still_down_every) (with the rows of `inbox` waiting)
    /// until it answers 2xx.
    pub(super) fn failed(
        self: &Arc<Self>,
        target: &Target,
        error: &str,
        inbox: Option<&Arc<dyn Inbox>>,
    ) {
        let mut state = self.lock();
        let Some(outage) = state.outage.failed(Instant::now(), self.down_after) else {
            return;
        };
        outage::went_down(target);
        // The error may quote a URL (a client's message): printed without its secrets.
        let error = runhook::endpoint::redact_url(error);
        tracing::warn!(url = %target, error, "the forward target is down");
        let change = TargetHealth::Down { error };
        self.tell(target, &change);
        drop(state);
        outage::spawn_ticker(self, target, inbox, outage);
    }

    /// Records a 2xx from `target`; if it was down, pulls the rows of `inbox` that wait for a
    /// later attempt forward (they are due at once) and tells that it is up.
    pub(super) async fn succeeded(&self, target: &Target, inbox: Option<&Arc<dyn Inbox>>) {
        let Some(outage) = self.lock().outage.succeeded() else {
            return;
        };
        let waiting = match inbox {
            Some(inbox) => outage::pull_forward(inbox.as_ref()).await,
            None => None,
        };
        let mut state = self.lock();
        let Some(down_for) = state.outage.recovered(outage, Instant::now()) else {
            return;
        };
        outage::came_back(target);
        let down_ms = u64::try_from(down_for.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(url = %target, waiting, down_ms, "the forward target is up again");
        self.tell(target, &TargetHealth::Up { waiting, down_for });
        drop(state);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn each_change_is_told_once() {
        let told = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&told);
        let observer = Box::new(move |_: &Target, _: &TargetHealth| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let health = Health::new(
            Some(observer),
            3,
            Duration::from_secs(2),
            Duration::from_secs(30),
        );
        let target = Target::check(
            "http://127.0.0.1:3000/hook",
            runhook::AddressPolicy::local_development(),
        )
        .unwrap();
        assert_eq!(
            health.answered(&target, 200),
            None,
            "healthy from the start"
        );
        assert_eq!(
            health.answered(&target, 404),
            Some(TargetHealth::Misconfigured { status: 404 })
        );
        assert_eq!(health.answered(&target, 404), None);
        assert_eq!(
            health.answered(&target, 405),
            Some(TargetHealth::Misconfigured { status: 405 })
        );
        assert_eq!(health.current(), Some(405));
        assert_eq!(
            health.answered(&target, 503),
            Some(TargetHealth::Answering { status: 503 })
        );
        assert_eq!(health.answered(&target, 200), None);
        assert_eq!(told.load(Ordering::SeqCst), 3);
    }
}
