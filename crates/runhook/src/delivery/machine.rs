//! The delivery state machine: one event, one endpoint, attempts until an outcome.

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::attempt::{AttemptRecord, AttemptResult, DeliveryOutcome};
use super::classify::RetryDecision;
use super::policy::RetryPolicy;

/// What the driver must do next, returned by [`Delivery::poll_action`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryAction {
    /// Start attempt `attempt` (1-based) now; it must finish by `deadline`. Returned once per
    /// attempt: returning it is what starts the attempt.
    Send {
        /// The attempt number, 1-based.
        attempt: u32,
        /// When the attempt times out.
        deadline: Instant,
    },
    /// Nothing to do before this instant: a retry wait, or the deadline of the attempt in flight.
    /// Poll again at or after it (or sooner, after handling a result).
    WaitUntil(Instant),
    /// The delivery is over. Returned by every poll from now on.
    Done(DeliveryOutcome),
}

#[derive(Debug, Clone)]
enum State {
    /// Attempt `attempt` starts at the first poll at or after `at`.
    Ready {
        attempt: u32,
        at: Instant,
    },
    /// Attempt `attempt` is in flight until its result is handled or `deadline` passes.
    InFlight {
        attempt: u32,
        deadline: Instant,
    },
    Done(DeliveryOutcome),
}

/// The delivery of one event to one endpoint under a [`RetryPolicy`]: a sans-IO state machine
/// (see the [module docs](super) for the drain contract).
#[derive(Debug, Clone)]
pub struct Delivery {
    policy: RetryPolicy,
    rng: Xoshiro256PlusPlus,
    state: State,
    attempts: Vec<AttemptRecord>,
}

/// `now + wait`. Policies keep every duration within [`RetryPolicy::MAX_DURATION`], so this
/// overflows only for an `Instant` centuries ahead; then it answers `now` rather than panic.
fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait).unwrap_or(now)
}

impl Delivery {
    /// A delivery created at `now`, its first attempt due at once. Jitter draws from seed 0.
    pub fn new(policy: RetryPolicy, now: Instant) -> Self {
        Self::with_seed(policy, 0, now)
    }

    /// A delivery whose jitter draws from a generator seeded with `seed`: the same policy, seed
    /// and inputs give the same waits. Give each delivery its own seed (a hash of the run id and
    /// endpoint, say) so that deliveries failing together spread out.
    pub fn with_seed(policy: RetryPolicy, seed: u64, now: Instant) -> Self {
        let capacity = usize::try_from(policy.max_attempts()).unwrap_or(0);
        Delivery {
            policy,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            state: State::Ready {
                attempt: 1,
                at: now,
            },
            attempts: Vec::with_capacity(capacity),
        }
    }

    /// What to do next. Call it after creation and after every
    /// [`handle_result`](Self::handle_result), and again whenever a `WaitUntil` instant is reached.
    /// An attempt in flight whose deadline is at or before `now` is recorded as
    /// [`AttemptResult::Timeout`] here, ending at its deadline.
    pub fn poll_action(&mut self, now: Instant) -> DeliveryAction {
        match &self.state {
            State::Done(outcome) => DeliveryAction::Done(outcome.clone()),
            State::Ready { at, .. } if now < *at => DeliveryAction::WaitUntil(*at),
            State::Ready { attempt, .. } => {
                let (attempt, deadline) = (*attempt, later(now, self.policy.attempt_timeout()));
                self.attempts.push(AttemptRecord {
                    attempt,
                    started: now,
                    ended: None,
                    result: None,
                    next_wait: None,
                });
                self.state = State::InFlight { attempt, deadline };
                DeliveryAction::Send { attempt, deadline }
            }
            State::InFlight { deadline, .. } if now < *deadline => {
                DeliveryAction::WaitUntil(*deadline)
            }
            State::InFlight { deadline, .. } => {
                let deadline = *deadline;
                self.finish_attempt(deadline, AttemptResult::Timeout);
                self.poll_action(now)
            }
        }
    }

    /// Feeds the result of the attempt in flight, observed at `now`. A result fed when no attempt
    /// is in flight (before the first `Send`, during a retry wait, after the machine recorded a
    /// timeout, or once done) is ignored. A result fed after the deadline but before the poll
    /// that would record a timeout is taken as reported.
    pub fn handle_result(&mut self, now: Instant, result: AttemptResult) {
        if matches!(self.state, State::InFlight { .. }) {
            self.finish_attempt(now, result);
        }
    }

    /// Closes the attempt in flight with `result` at `now` and moves to the next state.
    fn finish_attempt(&mut self, now: Instant, result: AttemptResult) {
        let State::InFlight { attempt, .. } = self.state else {
            return;
        };
        let decision = self.policy.classify(&result);
        let Some(record) = self.attempts.last_mut() else {
            return;
        };
        let ended = now.max(record.started);
        record.ended = Some(ended);
        record.result = Some(result.clone());
        self.state = match (decision, &result) {
            (RetryDecision::Delivered, AttemptResult::Response { status, .. }) => {
                State::Done(DeliveryOutcome::Delivered {
                    attempts: attempt,
                    status: *status,
                })
            }
            (RetryDecision::Retry { after }, _) if attempt < self.policy.max_attempts() => {
                let wait = self
                    .policy
                    .retry_wait(attempt, after, &mut self.rng)
                    .unwrap_or(Duration::ZERO);
                record.next_wait = Some(wait);
                State::Ready {
                    attempt: attempt + 1,
                    at: later(ended, wait),
                }
            }
            _ => State::Done(DeliveryOutcome::Failed {
                attempts: attempt,
                last: result,
            }),
        };
    }

    /// The attempt log: every attempt started so far, in order.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// The outcome, once the delivery is over.
    pub fn outcome(&self) -> Option<&DeliveryOutcome> {
        match &self.state {
            State::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Whether the delivery is over.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The number of the attempt in flight, if one is.
    pub fn in_flight(&self) -> Option<u32> {
        match self.state {
            State::InFlight { attempt, .. } => Some(attempt),
            _ => None,
        }
    }

    /// The policy this delivery follows.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
