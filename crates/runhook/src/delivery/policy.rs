//! Retry policies: how many attempts, how long each may take, how long to wait between them.
//!
//! What a result *means* (deliver, retry, give up) is in [`classify`](super::classify); building
//! a policy from parts is in [`builder`](super::builder).

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;

use super::builder::RetryPolicyBuilder;
use super::classify::StatusClass;
use super::jitter::Jitter;
use super::retry_after::RetryAfterRule;

/// The waits between attempts, before jitter.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    /// One wait per retry: entry `k − 1` is the wait before retry `k` (attempt `k + 1`).
    Schedule(Vec<Duration>),
    /// The wait before retry `k` is `min(base × factor^(k − 1), cap)`.
    Exponential {
        /// The first wait.
        base: Duration,
        /// The growth factor, at least 1.
        factor: f64,
        /// The longest wait.
        cap: Duration,
    },
}

/// A retry policy: attempts, per-attempt timeout, backoff, jitter, how statuses are classified and
/// what a `Retry-After` does ([`RetryAfterRule`]).
///
/// Two presets are documented (docs/protocol.md §2 and §4.1):
///
/// | | [`tinyfish`](Self::tinyfish) | [`standard`](Self::standard) |
/// |---|---|---|
/// | attempts | 4 | 4 |
/// | waits before retries 1, 2, 3 | 1 s, 2 s, 4 s | 1 s, 2 s, 4 s, each ± 25 % |
/// | timeout per attempt | 10 s | 10 s |
/// | 2xx | delivered | delivered |
/// | 408, 425, 429 | give up | retry |
/// | other 4xx | give up | give up |
/// | 1xx, 3xx, 5xx, other | retry | retry |
/// | network error, timeout | retry | retry |
/// | `Retry-After` | ignored | at least the server's wait (capped at 60 s), never sooner than the schedule |
/// | worst case, first attempt to giving up | 47 s | 220 s |
///
/// A third preset, [`inbox`](Self::inbox), is an inbox's own schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(super) max_attempts: u32,
    pub(super) backoff: Backoff,
    pub(super) attempt_timeout: Duration,
    pub(super) jitter: Jitter,
    pub(super) overrides: BTreeMap<u16, StatusClass>,
    pub(super) retry_after: RetryAfterRule,
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

impl RetryPolicy {
    /// The most attempts a policy may make.
    pub const MAX_ATTEMPTS: u32 = 100;
    /// The longest timeout, wait or `Retry-After` cap a policy may hold: 7 days.
    pub const MAX_DURATION: Duration = secs(7 * 24 * 3600);
    /// The `Retry-After` cap of the [`standard`](Self::standard) preset.
    pub const STANDARD_RETRY_AFTER_CAP: Duration = secs(60);
    /// The jitter of the [`standard`](Self::standard) preset: ± 25 %.
    pub const STANDARD_JITTER: Jitter = Jitter::Proportional(0.25);

    /// TinyFish's documented delivery table, exactly: 4 attempts, waits of 1 s, 2 s and 4 s, 10 s
    /// per attempt, 2xx delivered, every 4xx (408 and 429 included) given up at once, everything
    /// else (1xx, 3xx, 5xx, network errors, timeouts) retried, no jitter, `Retry-After` ignored
    /// ([`RetryAfterRule::Ignore`]).
    pub fn tinyfish() -> Self {
        RetryPolicy {
            max_attempts: 4,
            backoff: Backoff::Schedule(vec![secs(1), secs(2), secs(4)]),
            attempt_timeout: secs(10),
            jitter: Jitter::None,
            overrides: BTreeMap::new(),
            retry_after: RetryAfterRule::Ignore,
        }
    }

    /// The second documented preset: [`tinyfish`](Self::tinyfish), except that 408 Request
    /// Timeout, 425 Too Early and 429 Too Many Requests are retried, scheduled waits are spread by
    /// ± 25 %, and a `Retry-After` makes the wait at least that long, up to 60 s, never shorter
    /// than the schedule's ([`RetryAfterRule::AtLeast`]): `Retry-After: 0` does not retry at once.
    pub fn standard() -> Self {
        let overrides = [408, 425, 429]
            .into_iter()
            .map(|status| (status, StatusClass::Retry))
            .collect();
        RetryPolicy {
            jitter: Self::STANDARD_JITTER,
            overrides,
            retry_after: RetryAfterRule::at_least(Self::STANDARD_RETRY_AFTER_CAP),
            ..Self::tinyfish()
        }
    }

    /// The preset of an inbox, which retries on its own schedule for as long as it takes: up to
    /// 100 attempts, waits growing exponentially from 1 s (× 2) up to 1 h, each ± 25 %, 5 minutes
    /// per attempt, a `Retry-After` makes the wait at least that long, up to 1 h, never shorter
    /// than the schedule's ([`RetryAfterRule::AtLeast`]); 408 Request Timeout and 429 Too Many
    /// Requests are retried, every other 4xx given up. An inbox also gives up 72 h after it
    /// received the event, whichever comes first (see `runhook::inbox::InboxPolicy`).
    pub fn inbox() -> Self {
        let overrides = [408, 429]
            .into_iter()
            .map(|status| (status, StatusClass::Retry))
            .collect();
        RetryPolicy {
            max_attempts: Self::MAX_ATTEMPTS,
            backoff: Backoff::Exponential {
                base: secs(1),
                factor: 2.0,
                cap: secs(3600),
            },
            attempt_timeout: secs(300),
            jitter: Self::STANDARD_JITTER,
            overrides,
            retry_after: RetryAfterRule::at_least(secs(3600)),
        }
    }

    /// A builder that starts from the [`tinyfish`](Self::tinyfish) preset.
    pub fn builder() -> RetryPolicyBuilder {
        RetryPolicyBuilder::from_policy(Self::tinyfish())
    }

    /// A builder that starts from this policy.
    pub fn to_builder(&self) -> RetryPolicyBuilder {
        RetryPolicyBuilder::from_policy(self.clone())
    }

    /// The most attempts a delivery makes, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long one attempt may take, from start to the end of the response body.
    pub fn attempt_timeout(&self) -> Duration {
        self.attempt_timeout
    }

    /// The waits before jitter.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The jitter applied to scheduled waits (not to `Retry-After` waits).
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// What a `Retry-After` does under this policy.
    pub fn retry_after_rule(&self) -> RetryAfterRule {
        self.retry_after
    }

    /// The cap on an honoured `Retry-After`, or `None` if `Retry-After` is ignored.
    pub fn retry_after_cap(&self) -> Option<Duration> {
        self.retry_after.cap()
    }

    /// The per-status overrides of the default table, in status order.
    pub fn status_overrides(&self) -> impl Iterator<Item = (u16, StatusClass)> + '_ {
        self.overrides
            .iter()
            .map(|(status, class)| (*status, *class))
    }

    /// The scheduled wait before retry `retry` (1-based: retry 1 is attempt 2), before jitter;
    /// `None` if the policy makes no such retry.
    pub fn nominal_wait(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry >= self.max_attempts {
            return None;
        }
        match &self.backoff {
            Backoff::Schedule(waits) => waits
                .get(usize::try_from(retry - 1).ok()?)
                .or(waits.last())
                .copied(),
            Backoff::Exponential { base, factor, cap } => {
                let exponent = i32::try_from(retry - 1).unwrap_or(i32::MAX);
                let wait = base.as_secs_f64() * factor.powi(exponent);
                if !wait.is_finite() || wait >= cap.as_secs_f64() {
                    Some(*cap)
                } else {
                    Some(Duration::try_from_secs_f64(wait).unwrap_or(*cap))
                }
            }
        }
    }

    /// The wait before retry `retry` (1-based), after an answer that asked for `asked`
    /// (`Retry-After`, as parsed): the schedule's wait with its jitter drawn from `rng`, combined
    /// with `asked` under the policy's [`RetryAfterRule`]. `None` if the policy makes no such
    /// retry. The one place a wait is computed, for the delivery machine and the inbox alike.
    pub(crate) fn retry_wait<R: Rng + ?Sized>(
        &self,
        retry: u32,
        asked: Option<Duration>,
        rng: &mut R,
    ) -> Option<Duration> {
        let scheduled = self.jitter.apply(self.nominal_wait(retry)?, rng);
        Some(self.retry_after.wait(scheduled, asked))
    }

    /// The inclusive range a scheduled wait before retry `retry` is drawn from, after jitter.
    /// An honoured `Retry-After` longer than the schedule's wait may lengthen it past this range
    /// (never shorten it).
    pub fn wait_bounds(&self, retry: u32) -> Option<(Duration, Duration)> {
        self.nominal_wait(retry)
            .map(|wait| self.jitter.bounds(wait))
    }

    /// The longest a delivery under this policy can take from its first attempt to its outcome,
    /// when the driver reports every result by its deadline: every attempt times out and every wait
    /// is the longest possible (the top of the jitter range, or the `Retry-After` cap if larger).
    pub fn max_total_time(&self) -> Duration {
        let cap = self.retry_after_cap().unwrap_or(Duration::ZERO);
        let waits = (1..self.max_attempts)
            .filter_map(|retry| self.wait_bounds(retry))
            .map(|(_, high)| high.max(cap))
            .fold(Duration::ZERO, Duration::saturating_add);
        self.attempt_timeout
            .saturating_mul(self.max_attempts)
            .saturating_add(waits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tinyfish_is_the_documented_table() {
        let policy = RetryPolicy::tinyfish();
        assert_eq!(policy.max_attempts(), 4);
        assert_eq!(policy.attempt_timeout(), secs(10));
        let waits: Vec<_> = (1..4).map(|k| policy.nominal_wait(k)).collect();
        assert_eq!(waits, [Some(secs(1)), Some(secs(2)), Some(secs(4))]);
        assert_eq!(policy.nominal_wait(0), None);
        assert_eq!(policy.nominal_wait(4), None);
        assert_eq!(policy.jitter(), Jitter::None);
        assert_eq!(policy.retry_after_cap(), None);
        assert_eq!(policy.retry_after_rule(), RetryAfterRule::Ignore);
        assert_eq!(policy.status_overrides().count(), 0);
        // docs/protocol.md §2: "4 × 10 s + 7 s = 47 s".
        assert_eq!(policy.max_total_time(), secs(47));
    }

    #[test]
    fn standard_differs_from_tinyfish_where_documented() {
        let policy = RetryPolicy::standard();
        assert_eq!(policy.max_attempts(), 4);
        assert_eq!(policy.attempt_timeout(), secs(10));
        assert_eq!(
            policy.retry_after_rule(),
            RetryAfterRule::at_least(secs(60))
        );
        assert_eq!(policy.jitter(), Jitter::Proportional(0.25));
        let overrides: Vec<_> = policy.status_overrides().collect();
        assert_eq!(
            overrides,
            [
                (408, StatusClass::Retry),
                (425, StatusClass::Retry),
                (429, StatusClass::Retry)
            ]
        );
        assert_eq!(
            policy.wait_bounds(3),
            Some((Duration::from_millis(3000), Duration::from_millis(5000)))
        );
        assert_eq!(policy.max_total_time(), secs(220));
    }

    #[test]
    fn exponential_waits_grow_then_stop_at_the_cap() {
        let policy = RetryPolicy::builder()
            .attempts(8)
            .exponential(Duration::from_millis(500), 2.0, secs(10))
            .build()
            .unwrap();
        let waits: Vec<_> = (1..8).map(|k| policy.nominal_wait(k).unwrap()).collect();
        let expected = [500, 1000, 2000, 4000, 8000, 10_000, 10_000].map(Duration::from_millis);
        assert_eq!(waits, expected);
        let huge = RetryPolicy::builder()
            .attempts(100)
            .exponential(secs(1), 1e300, secs(30))
            .build()
            .unwrap();
        assert_eq!(huge.nominal_wait(99), Some(secs(30)));
    }
}
