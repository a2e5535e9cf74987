//! When an inbox tries a failed row again, and when it gives up.

use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use crate::delivery::RetryPolicy;

/// An inbox's retry schedule: a [`RetryPolicy`] for the attempts and waits (and for classifying
/// a forwarded response's status), and a limit on the time from receipt to giving up.
///
/// The default is [`RetryPolicy::inbox`] (exponential from 1 s to 1 h, ± 25 %, up to 100
/// attempts) with a limit of 72 hours.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InboxPolicy {
    /// Attempts, waits and status classes.
    pub retry: RetryPolicy,
    /// A row whose next attempt would come later than this after its receipt is given up.
    pub give_up_after: Duration,
}

impl Default for InboxPolicy {
    fn default() -> Self {
        InboxPolicy {
            retry: RetryPolicy::inbox(),
            give_up_after: Self::DEFAULT_GIVE_UP_AFTER,
        }
    }
}

impl InboxPolicy {
    /// The default limit from receipt to giving up: 72 hours.
    pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(72 * 60 * 60);

    /// A policy of `retry`'s attempts and waits, giving up `give_up_after` after receipt.
    pub fn new(retry: RetryPolicy, give_up_after: Duration) -> Self {
        InboxPolicy {
            retry,
            give_up_after,
        }
    }

    /// When a row received at `received_at`, whose attempt number `attempt` (1-based) failed at
    /// `now`, is tried again; `None` when it is to be given up (no attempt left, or the next
    /// would fall past the limit). `retry_after` is a delay the other side asked for
    /// (`Retry-After`): under the policy's [`RetryAfterRule`](crate::delivery::RetryAfterRule)
    /// the wait is at least that long (capped) and never shorter than the schedule's, or the
    /// schedule alone if the policy ignores it.
    ///
    /// The jitter is drawn from a generator seeded with `seed`: the same seed gives the same
    /// time. [`decide_attempt`](super::decide_attempt) seeds it with
    /// [`jitter_seed`](super::jitter_seed) of the key and the attempt, so that rows failing
    /// together spread out.
    pub fn retry_at(
        &self,
        attempt: u32,
        received_at: SystemTime,
        now: SystemTime,
        retry_after: Option<Duration>,
        seed: u64,
    ) -> Option<SystemTime> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let wait = self.retry.retry_wait(attempt, retry_after, &mut rng)?;
        let at = now.checked_add(wait)?;
        let limit = received_at.checked_add(self.give_up_after)?;
        (at <= limit).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600 + secs)
    }

    #[test]
    fn waits_grow_from_one_second_to_one_hour_with_jitter() {
        let policy = InboxPolicy::default();
        for (attempt, nominal) in [(1, 1), (2, 2), (3, 4), (12, 2048), (13, 3600), (40, 3600)] {
            let at = policy.retry_at(attempt, t(0), t(0), None, u64::from(attempt));
            let wait = at.and_then(|at| at.duration_since(t(0)).ok());
            let wait = wait.unwrap_or_else(|| panic!("attempt {attempt} gives up"));
            let nominal = SECOND * nominal;
            assert!(wait >= nominal.mul_f64(0.75) && wait <= nominal.mul_f64(1.25));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_time_and_seeds_spread() {
        let policy = InboxPolicy::default();
        let a = policy.retry_at(5, t(0), t(0), None, 7);
        assert_eq!(a, policy.retry_at(5, t(0), t(0), None, 7));
        let spread: std::collections::HashSet<_> = (0..20)
            .map(|seed| policy.retry_at(5, t(0), t(0), None, seed))
            .collect();
        assert!(spread.len() > 10);
    }

    #[test]
    fn gives_up_past_the_limit_or_out_of_attempts() {
        let policy = InboxPolicy::default();
        let limit = 72 * 3600;
        assert_eq!(policy.retry_at(1, t(0), t(limit), None, 1), None);
        assert!(policy.retry_at(1, t(0), t(limit - 10), None, 1).is_some());
        assert_eq!(policy.retry_at(100, t(0), t(0), None, 1), None);
        let short = InboxPolicy::new(RetryPolicy::tinyfish(), Duration::from_secs(3600));
        assert_eq!(short.retry_at(4, t(0), t(0), None, 1), None);
        assert_eq!(short.retry_at(1, t(0), t(0), None, 1), Some(t(1)));
    }

    #[test]
    fn a_requested_delay_lengthens_the_schedule_and_never_shortens_it() {
        let policy = InboxPolicy::default();
        let at = policy.retry_at(1, t(0), t(0), Some(SECOND * 30), 1);
        assert_eq!(at, Some(t(30)));
        let scheduled = policy.retry_at(12, t(0), t(0), None, 1);
        assert_eq!(policy.retry_at(12, t(0), t(0), Some(SECOND), 1), scheduled);
        let capped = policy.retry_at(1, t(0), t(0), Some(SECOND * 7200), 1);
        assert_eq!(capped, Some(t(3600)));
    }

    #[test]
    fn the_default_gives_up_after_72_hours_before_its_attempts_run_out() {
        let policy = InboxPolicy::default();
        let (mut now, mut attempt) = (t(0), 1);
        while let Some(at) = policy.retry_at(attempt, t(0), now, None, u64::from(attempt)) {
            now = at;
            attempt += 1;
        }
        assert!(attempt < RetryPolicy::MAX_ATTEMPTS, "{attempt}");
        assert!(now > t(71 * 3600), "{now:?}");
    }
}
