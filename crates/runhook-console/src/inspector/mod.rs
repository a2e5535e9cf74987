//! The inspector: the deliveries a receiver got, kept in memory within bounds, for a receiver
//! without an inbox.

mod delivery;
mod record;
pub(crate) mod redact;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use delivery::InspectedDelivery;
pub(crate) use record::RecordedId;
pub use record::{InspectLayer, InspectService};

/// How much an [`Inspector`] keeps: the oldest deliveries go first when either bound is passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorLimits {
    /// The most deliveries kept (default 500). Zero keeps none.
    pub max_deliveries: usize,
    /// The most body bytes kept, over all kept deliveries (default 64 MiB). A body longer than
    /// this is kept cut to it, and marked [`truncated`](InspectedDelivery::truncated).
    pub max_body_bytes: usize,
}

impl Default for InspectorLimits {
    fn default() -> Self {
        InspectorLimits {
            max_deliveries: 500,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The deliveries a webhook route got: wrap the route with [`Inspector::layer`], and serve
/// [`Console::over_inspector`](crate::Console::over_inspector) to see them. Cloning gives
/// another handle on the same deliveries.
#[derive(Clone)]
pub struct Inspector {
    inner: Arc<Inner>,
}

struct Inner {
    limits: InspectorLimits,
    next_id: AtomicU64,
    log: Mutex<Log>,
}

/// The kept deliveries, newest first, and their body bytes.
#[derive(Default)]
struct Log {
    deliveries: VecDeque<Arc<InspectedDelivery>>,
    body_bytes: usize,
}

impl fmt::Debug for Inspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.log();
        f.debug_struct("Inspector")
            .field("limits", &self.inner.limits)
            .field("deliveries", &log.deliveries.len())
            .field("body_bytes", &log.body_bytes)
            .finish()
    }
}

impl Inspector {
    /// An inspector that keeps deliveries within `limits`.
    pub fn new(limits: InspectorLimits) -> Self {
        Inspector {
            inner: Arc::new(Inner {
                limits,
                next_id: AtomicU64::new(1),
                log: Mutex::new(Log::default()),
            }),
        }
    }

    /// The layer that records each request through the route it wraps, with the response it got.
    pub fn layer(&self) -> InspectLayer {
        InspectLayer::new(self.clone())
    }

    /// The kept deliveries, newest first.
    pub fn deliveries(&self) -> Vec<InspectedDelivery> {
        self.log()
            .deliveries
            .iter()
            .map(|delivery| InspectedDelivery::clone(delivery))
            .collect()
    }

    /// The kept delivery numbered `id`, if it is still kept.
    pub fn delivery(&self, id: u64) -> Option<InspectedDelivery> {
        self.log()
            .deliveries
            .iter()
            .find(|delivery| delivery.id == id)
            .map(|delivery| InspectedDelivery::clone(delivery))
    }

    /// Its limits.
    pub fn limits(&self) -> InspectorLimits {
        self.inner.limits
    }

    /// Up to `n` of the newest deliveries, shared (for the pages).
    pub(crate) fn newest(&self, n: usize) -> Vec<Arc<InspectedDelivery>> {
        self.log().deliveries.iter().take(n).cloned().collect()
    }

    /// The number of the next delivery.
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps `delivery` as the newest, dropping the oldest while a bound is passed.
    pub(crate) fn record(&self, delivery: InspectedDelivery) {
        let limits = self.inner.limits;
        if limits.max_deliveries == 0 {
            return;
        }
        let mut log = self.log();
        log.body_bytes += delivery.body.len();
        log.deliveries.push_front(Arc::new(delivery));
        while log.deliveries.len() > limits.max_deliveries
            || (log.body_bytes > limits.max_body_bytes && log.deliveries.len() > 1)
        {
            match log.deliveries.pop_back() {
                Some(oldest) => log.body_bytes -= oldest.body.len(),
                None => break,
            }
        }
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while the lock was held leaves a consistent log (every change is one step).
        self.inner
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
