//! The process-wide budget of buffered body bytes.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A bound on the request-body bytes buffered at once, shared by every receiver that draws on
/// it (by default all of a process's receivers draw on [`BodyBudget::global`]).
///
/// A body's bytes are charged as they arrive and given back when its request has been answered.
/// A chunk that does not fit is refused: the request gets 503 with `Retry-After` (a sender
/// retries it) instead of memory growing without bound.
///
/// Clients that open many bodies and stall can fill the budget. So that they cannot starve real
/// deliveries, a chunk that **completes** its body may also draw on a small reserve
/// ([`BodyBudget::reserve`], an eighth of the capacity) that incomplete bodies never touch: a
/// webhook that arrives whole in one read, as almost all do, is accepted while stalled bodies
/// hold the rest. The bytes buffered at once never exceed capacity + reserve.
///
/// Cheap to clone: clones share one count.
#[derive(Clone)]
pub struct BodyBudget {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    reserve: usize,
    used: AtomicUsize,
}

impl BodyBudget {
    /// The capacity of the global budget: 64 MiB, eight bodies of the default 8 MiB limit.
    pub const DEFAULT_CAPACITY: usize = 64 * 1024 * 1024;

    /// A budget of `capacity` bytes (plus a reserve of an eighth of it for completing bodies).
    pub fn new(capacity: usize) -> Self {
        BodyBudget {
            shared: Arc::new(Shared {
                capacity,
                reserve: capacity / 8,
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// The process's shared budget of [`BodyBudget::DEFAULT_CAPACITY`] bytes, which receivers
    /// use unless configured otherwise. To bound a process differently, make one budget with
    /// [`BodyBudget::new`] and give it to every receiver.
    pub fn global() -> Self {
        static GLOBAL: OnceLock<BodyBudget> = OnceLock::new();
        GLOBAL
            .get_or_init(|| BodyBudget::new(Self::DEFAULT_CAPACITY))
            .clone()
    }

    /// The bytes incomplete bodies may hold together.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// The extra bytes only a completing chunk may use.
    pub fn reserve(&self) -> usize {
        self.shared.reserve
    }

    /// The bytes charged now.
    pub fn used(&self) -> usize {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// Whether `self` and `other` are the same budget.
    pub fn same_as(&self, other: &BodyBudget) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A charge of nothing, to which a body's chunks are added.
    pub(crate) fn empty_charge(&self) -> BodyCharge {
        BodyCharge {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Adds `bytes` to `charge` if they fit: within the capacity, or within capacity + reserve
    /// for the chunk that completes its body.
    fn try_add(&self, bytes: usize, completes: bool) -> bool {
        let limit = if completes {
            self.shared.capacity.saturating_add(self.shared.reserve)
        } else {
            self.shared.capacity
        };
        self.shared
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }
}

/// Bytes charged to a [`BodyBudget`] for one body, given back when dropped: keep it as long as
/// the body's bytes are held (see [`read_body`](crate::read_body)).
#[must_use = "the bytes are given back to the budget when the charge is dropped"]
pub struct BodyCharge {
    budget: BodyBudget,
    bytes: usize,
}

impl BodyCharge {
    /// The bytes charged.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Charges `bytes` more; `false` (and nothing charged) if they do not fit.
    pub(crate) fn add(&mut self, bytes: usize, completes: bool) -> bool {
        let fits = self.budget.try_add(bytes, completes);
        if fits {
            self.bytes += bytes;
        }
        fits
    }
}

impl Drop for BodyCharge {
    fn drop(&mut self) {
        self.budget
            .shared
            .used
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl fmt::Debug for BodyCharge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyCharge")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("capacity", &self.capacity())
            .field("reserve", &self.reserve())
            .field("used", &self.used())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fit_the_capacity_and_are_given_back() {
        let budget = BodyBudget::new(800);
        let mut first = budget.empty_charge();
        assert!(first.add(500, false));
        let mut second = budget.empty_charge();
        assert!(second.add(300, false));
        assert!(!second.add(1, false), "over the capacity");
        assert_eq!(budget.used(), 800);
        drop(first);
        assert_eq!(budget.used(), 300);
        assert!(second.add(500, false));
        drop(second);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn only_a_completing_chunk_may_use_the_reserve() {
        let budget = BodyBudget::new(800); // reserve 100
        let mut stalled = budget.empty_charge();
        assert!(stalled.add(800, false));
        let mut small = budget.empty_charge();
        assert!(
            !small.add(60, false),
            "an incomplete body may not use the reserve"
        );
        assert!(small.add(60, true), "a completing chunk may");
        let mut another = budget.empty_charge();
        assert!(another.add(40, true));
        assert!(!budget.empty_charge().add(1, true), "the reserve is spent");
        assert_eq!(budget.used(), 900);
    }

    #[test]
    fn the_global_budget_is_one() {
        assert!(BodyBudget::global().same_as(&BodyBudget::global()));
        assert!(!BodyBudget::global().same_as(&BodyBudget::new(1)));
    }
}
