//! Concurrency limits: at most N attempts in flight overall and M per host, with a fair queue of
//! deliveries that are due but waiting for a slot.
//!
//! Only the driver task starts attempts and it learns of every attempt's end, so the limits are
//! plain counters owned by the driver (a semaphore whose permits are handed out in one place).
//! A delivery asks the core for its next attempt only once it holds a slot, so time spent
//! waiting for a slot never eats into the attempt's deadline.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::report::DeliveryId;

/// Per-host bookkeeping.
#[derive(Debug, Default)]
struct Host {
    in_flight: usize,
    ready: VecDeque<DeliveryId>,
    /// Whether the host is in the round-robin queue.
    queued: bool,
}

/// The slot counters and the queues of due deliveries.
#[derive(Debug)]
pub(crate) struct Slots {
    max_total: usize,
    max_per_host: usize,
    in_flight: usize,
    hosts: HashMap<Arc<str>, Host>,
    /// Hosts with due deliveries and a free host slot, served round robin.
    runnable: VecDeque<Arc<str>>,
}

impl Slots {
    pub(crate) fn new(max_total: usize, max_per_host: usize) -> Self {
        Slots {
            max_total,
            max_per_host,
            in_flight: 0,
            hosts: HashMap::new(),
            runnable: VecDeque::new(),
        }
    }

    /// Attempts in flight overall.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Queues a due delivery for `host`.
    pub(crate) fn enqueue(&mut self, host: &Arc<str>, id: DeliveryId) {
        let state = self.hosts.entry(Arc::clone(host)).or_default();
        state.ready.push_back(id);
        if !state.queued && state.in_flight < self.max_per_host {
            state.queued = true;
            self.runnable.push_back(Arc::clone(host));
        }
    }

    /// Takes a slot for the next due delivery, if a slot is free and a delivery waits.
    pub(crate) fn next(&mut self) -> Option<(Arc<str>, DeliveryId)> {
        while self.in_flight < self.max_total {
            let host = self.runnable.pop_front()?;
            let Some(state) = self.hosts.get_mut(&host) else {
                continue;
            };
            let Some(id) = state.ready.pop_front() else {
                state.queued = false;
                continue;
            };
            state.in_flight += 1;
            self.in_flight += 1;
            if !state.ready.is_empty() && state.in_flight < self.max_per_host {
                self.runnable.push_back(Arc::clone(&host));
            } else {
                state.queued = false;
            }
            return Some((host, id));
        }
        None
    }

    /// Gives back a slot taken by [`Slots::next`].
    pub(crate) fn release(&mut self, host: &str) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let Some(state) = self.hosts.get_mut(host) else {
            return;
        };
        state.in_flight = state.in_flight.saturating_sub(1);
        if !state.queued && !state.ready.is_empty() {
            state.queued = true;
            if let Some((key, _)) = self.hosts.get_key_value(host) {
                self.runnable.push_back(Arc::clone(key));
            }
        } else if state.in_flight == 0 && state.ready.is_empty() && !state.queued {
            self.hosts.remove(host);
        }
    }

    /// Forgets every queue (shutdown).
    pub(crate) fn clear(&mut self) {
        self.hosts.clear();
        self.runnable.clear();
        self.in_flight = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> Arc<str> {
        Arc::from(name)
    }

    #[test]
    fn per_host_and_total_limits_hold() {
        let (a, b) = (host("a:443"), host("b:443"));
        let mut slots = Slots::new(3, 2);
        for n in 0..5 {
            slots.enqueue(&a, DeliveryId(n));
        }
        slots.enqueue(&b, DeliveryId(10));
        let mut started = Vec::new();
        while let Some((h, id)) = slots.next() {
            started.push((h.to_string(), id.0));
        }
        // Two for a (its limit), then b gets the last global slot.
        assert_eq!(
            started,
            vec![
                ("a:443".into(), 0),
                ("b:443".into(), 10),
                ("a:443".into(), 1)
            ]
        );
        assert_eq!(slots.in_flight(), 3);
        // A finished attempt on b frees a global slot, but a is still at its host limit.
        slots.release("b:443");
        assert_eq!(slots.next(), None);
        slots.release("a:443");
        assert_eq!(slots.next().map(|(_, id)| id.0), Some(2));
        assert_eq!(slots.next(), None);
    }

    #[test]
    fn hosts_are_served_round_robin_and_forgotten_when_idle() {
        let (a, b) = (host("a"), host("b"));
        let mut slots = Slots::new(1, 10);
        slots.enqueue(&a, DeliveryId(1));
        slots.enqueue(&a, DeliveryId(2));
        slots.enqueue(&b, DeliveryId(3));
        let mut order = Vec::new();
        while let Some((h, id)) = slots.next() {
            order.push(id.0);
            slots.release(&h);
        }
        assert_eq!(order, vec![1, 3, 2]);
        assert!(slots.hosts.is_empty(), "{:?}", slots.hosts);
        assert!(slots.runnable.is_empty());
    }

    #[test]
    fn a_host_at_its_limit_is_requeued_on_release() {
        let a = host("a");
        let mut slots = Slots::new(10, 1);
        slots.enqueue(&a, DeliveryId(1));
        slots.enqueue(&a, DeliveryId(2));
        let (h, first) = slots.next().unwrap();
        assert_eq!(first.0, 1);
        assert_eq!(slots.next(), None);
        slots.release(&h);
        assert_eq!(slots.next().map(|(_, id)| id.0), Some(2));
    }
}
