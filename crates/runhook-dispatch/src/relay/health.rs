//! Whether the app's answers say the relay is misconfigured, tracked per forwarder (one target),
//! so that a wrong `--forward-to` is said once per change rather than once per row.

use std::sync::{Mutex, PoisonError};

use super::policy::MISCONFIGURED;
use crate::sender::Target;

/// A change in what the target's answers say about the relay's configuration, reported once
/// per change (not once per row) to the forwarder's observer
/// ([`ForwarderBuilder::on_health_change`](super::ForwarderBuilder::on_health_change)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// The observer of [`TargetHealth`] changes.
pub(super) type HealthObserver = Box<dyn Fn(&Target, &TargetHealth) + Send + Sync>;

/// The last misconfigured status seen, if the target is in that state.
#[derive(Default)]
pub(super) struct Health {
    misconfigured: Mutex<Option<u16>>,
    observer: Option<HealthObserver>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("misconfigured", &self.current())
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Health {
    pub(super) fn new(observer: Option<HealthObserver>) -> Self {
        Health {
            misconfigured: Mutex::new(None),
            observer,
        }
    }

    /// The misconfigured status the target answered last, if it is in that state.
    pub(super) fn current(&self) -> Option<u16> {
        *self
            .misconfigured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that `target` answered `status`; returns the change it makes, if any, after
    /// logging it and telling the observer. Concurrent answers are serialised, so each change
    /// is told once.
    pub(super) fn answered(&self, target: &Target, status: u16) -> Option<TargetHealth> {
        let mut state = self
            .misconfigured
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = MISCONFIGURED.contains(&status).then_some(status);
        if *state == now {
            return None;
        }
        *state = now;
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
            TargetHealth::Answering { status } => tracing::info!(
                url = %target.without_query(),
                status,
                "the forward target answers normally again"
            ),
        }
        // Under the lock: the observer sees the changes in the order they were made.
        if let Some(observer) = &self.observer {
            observer(target, &change);
        }
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn each_change_is_told_once() {
        let told = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&told);
        let health = Health::new(Some(Box::new(move |_: &Target, _: &TargetHealth| {
            counter.fetch_add(1, Ordering::SeqCst);
        })));
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
