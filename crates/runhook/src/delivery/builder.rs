//! Building a retry policy from parts, and checking every number on the way.

use std::time::Duration;

use super::classify::StatusClass;
use super::jitter::Jitter;
use super::policy::{Backoff, RetryPolicy};
use super::retry_after::RetryAfterRule;

/// Why a [`RetryPolicyBuilder`] refused to build.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `attempts(0)`.
    #[error("attempts is 0; a delivery needs at least 1 attempt (TinyFish makes 4)")]
    NoAttempts,
    /// More attempts than [`RetryPolicy::MAX_ATTEMPTS`].
    #[error(
        "attempts is {attempts}; at most 100 are allowed: keep longer campaigns in a durable outbox that creates new deliveries"
    )]
    TooManyAttempts {
        /// The number asked for.
        attempts: u32,
    },
    /// An explicit schedule whose length does not match the attempts.
    #[error(
        "attempts is {attempts} but the schedule has {waits} wait(s); an explicit schedule needs one wait per retry ({attempts} attempts need {} waits): pass them to schedule(..), leave attempts unset to take the count from the schedule, or compute the waits with exponential(..)",
        attempts.saturating_sub(1)
    )]
    ScheduleLength {
        /// The attempts asked for.
        attempts: u32,
        /// The waits in the schedule.
        waits: usize,
    },
    /// A zero per-attempt timeout.
    #[error("the attempt timeout is 0; give every attempt time to finish (TinyFish allows 10 s)")]
    ZeroTimeout,
    /// A duration above [`RetryPolicy::MAX_DURATION`].
    #[error("the {what} is {value:?}; at most 7 days is allowed")]
    DurationTooLong {
        /// Which duration: `attempt timeout`, `wait`, `backoff base`, `backoff cap` or
        /// `Retry-After cap`.
        what: &'static str,
        /// The value given.
        value: Duration,
    },
    /// An exponential factor that is not a finite number of at least 1.
    #[error(
        "the backoff factor is {factor}; it must be a finite number of at least 1 (2 doubles each wait)"
    )]
    InvalidFactor {
        /// The factor given, as written by `{}`.
        factor: String,
    },
    /// An exponential cap below its base.
    #[error(
        "the backoff cap {cap:?} is below its base {base:?}; the cap must be at least the base"
    )]
    CapBelowBase {
        /// The base.
        base: Duration,
        /// The cap.
        cap: Duration,
    },
    /// A proportional jitter ratio that is not a finite number in `[0, 1]`.
    #[error(
        "the jitter ratio is {ratio}; it must be between 0 and 1 (0.25 spreads each wait by ± 25 %)"
    )]
    InvalidJitter {
        /// The ratio given, as written by `{}`.
        ratio: String,
    },
    /// A status override for a number that is not an HTTP status code.
    #[error("status {status} is not an HTTP status code; overrides take codes from 100 to 999")]
    InvalidStatus {
        /// The number given.
        status: u16,
    },
}

/// Builds a [`RetryPolicy`], checking every number. Starts from a preset (see
/// [`RetryPolicy::builder`]); every setter replaces that part of it.
///
/// ```
/// use std::time::Duration;
/// use runhook::delivery::{StatusClass, Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::builder()
///     .attempts(6)
///     .exponential(Duration::from_secs(1), 3.0, Duration::from_secs(60))
///     .attempt_timeout(Duration::from_secs(5))
///     .jitter(Jitter::Full)
///     .status(429, StatusClass::Retry)
///     .honour_retry_after(Duration::from_secs(120))
///     .build()?;
/// assert_eq!(policy.nominal_wait(5), Some(Duration::from_secs(60)));
/// # Ok::<(), runhook::delivery::PolicyError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RetryPolicyBuilder {
    policy: RetryPolicy,
    attempts_set: bool,
}

impl RetryPolicyBuilder {
    pub(super) fn from_policy(policy: RetryPolicy) -> Self {
        RetryPolicyBuilder {
            policy,
            attempts_set: false,
        }
    }

    /// The most attempts, the first included (1 to [`RetryPolicy::MAX_ATTEMPTS`]). Left unset with
    /// an explicit [`schedule`](Self::schedule), it is one more than the schedule's waits.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.policy.max_attempts = attempts;
        self.attempts_set = true;
        self
    }

    /// An explicit schedule: one wait per retry, in order. Replaces an exponential backoff.
    pub fn schedule(mut self, waits: impl IntoIterator<Item = Duration>) -> Self {
        self.policy.backoff = Backoff::Schedule(waits.into_iter().collect());
        self
    }

    /// Exponential backoff: the wait before retry `k` is `min(base × factor^(k − 1), cap)`.
    /// Replaces an explicit schedule.
    pub fn exponential(mut self, base: Duration, factor: f64, cap: Duration) -> Self {
        self.policy.backoff = Backoff::Exponential { base, factor, cap };
        self
    }

    /// How long one attempt may take (more than 0, at most [`RetryPolicy::MAX_DURATION`]).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.policy.attempt_timeout = timeout;
        self
    }

    /// The jitter applied to scheduled waits.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy.jitter = jitter;
        self
    }

    /// Classifies responses with `status` as `class`, overriding the default table (2xx
    /// delivered, 4xx give up, anything else retry).
    pub fn status(mut self, status: u16, class: StatusClass) -> Self {
        self.policy.overrides.insert(status, class);
        self
    }

    /// Removes every status override, restoring the default table.
    pub fn clear_status_overrides(mut self) -> Self {
        self.policy.overrides.clear();
        self
    }

    /// What a `Retry-After` on a retried answer does (see [`RetryAfterRule`]).
    pub fn retry_after(mut self, rule: RetryAfterRule) -> Self {
        self.policy.retry_after = rule;
        self
    }

    /// Honours `Retry-After` on retried answers ([`RetryAfterRule::AtLeast`]): the wait is at
    /// least the server's delay, capped at `cap`, and never shorter than the scheduled wait.
    pub fn honour_retry_after(self, cap: Duration) -> Self {
        self.retry_after(RetryAfterRule::at_least(cap))
    }

    /// Ignores `Retry-After` ([`RetryAfterRule::Ignore`]): waits always come from the schedule.
    pub fn ignore_retry_after(self) -> Self {
        self.retry_after(RetryAfterRule::Ignore)
    }

    /// Checks the numbers and returns the policy.
    pub fn build(self) -> Result<RetryPolicy, PolicyError> {
        let mut policy = self.policy;
        if let (Backoff::Schedule(waits), false) = (&policy.backoff, self.attempts_set) {
            policy.max_attempts = u32::try_from(waits.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1);
        }
        check(&policy)?;
        Ok(policy)
    }
}

fn check(policy: &RetryPolicy) -> Result<(), PolicyError> {
    let attempts = policy.max_attempts;
    if attempts == 0 {
        return Err(PolicyError::NoAttempts);
    }
    if attempts > RetryPolicy::MAX_ATTEMPTS {
        return Err(PolicyError::TooManyAttempts { attempts });
    }
    if policy.attempt_timeout.is_zero() {
        return Err(PolicyError::ZeroTimeout);
    }
    let mut durations = vec![("attempt timeout", policy.attempt_timeout)];
    match &policy.backoff {
        Backoff::Schedule(waits) => {
            if usize::try_from(attempts - 1).ok() != Some(waits.len()) {
                return Err(PolicyError::ScheduleLength {
                    attempts,
                    waits: waits.len(),
                });
            }
            durations.extend(waits.iter().map(|wait| ("wait", *wait)));
        }
        Backoff::Exponential { base, factor, cap } => {
            if !factor.is_finite() || *factor < 1.0 {
                return Err(PolicyError::InvalidFactor {
                    factor: factor.to_string(),
                });
            }
            if cap < base {
                return Err(PolicyError::CapBelowBase {
                    base: *base,
                    cap: *cap,
                });
            }
            durations.extend([("backoff base", *base), ("backoff cap", *cap)]);
        }
    }
    if let Some(cap) = policy.retry_after.cap() {
        durations.push(("Retry-After cap", cap));
    }
    if let Some((what, value)) = durations
        .into_iter()
        .find(|(_, value)| *value > RetryPolicy::MAX_DURATION)
    {
        return Err(PolicyError::DurationTooLong { what, value });
    }
    if let Jitter::Proportional(ratio) = policy.jitter
        && !(0.0..=1.0).contains(&ratio)
    {
        return Err(PolicyError::InvalidJitter {
            ratio: ratio.to_string(),
        });
    }
    if let Some(status) = policy
        .overrides
        .keys()
        .copied()
        .find(|status| !(100..=999).contains(status))
    {
        return Err(PolicyError::InvalidStatus { status });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn builder_starts_from_tinyfish() {
        assert_eq!(RetryPolicy::builder().build(), Ok(RetryPolicy::tinyfish()));
        assert_eq!(
            RetryPolicy::standard().to_builder().build(),
            Ok(RetryPolicy::standard())
        );
    }

    #[test]
    fn a_schedule_sets_the_attempts_unless_they_are_given() {
        let policy = RetryPolicy::builder()
            .schedule([secs(5); 6])
            .build()
            .unwrap();
        assert_eq!(policy.max_attempts(), 7);
        assert_eq!(
            RetryPolicy::builder()
                .attempts(3)
                .schedule([secs(5); 6])
                .build(),
            Err(PolicyError::ScheduleLength {
                attempts: 3,
                waits: 6
            })
        );
        let single = RetryPolicy::builder().schedule([]).build().unwrap();
        assert_eq!(single.max_attempts(), 1);
        assert_eq!(single.max_total_time(), secs(10));
    }

    #[test]
    fn every_bad_number_is_refused_with_its_reason() {
        let b = RetryPolicy::builder;
        let day = secs(24 * 3600);
        let cases: Vec<(RetryPolicyBuilder, PolicyError)> = vec![
            (b().attempts(0), PolicyError::NoAttempts),
            (
                b().attempts(101).exponential(secs(1), 2.0, secs(2)),
                PolicyError::TooManyAttempts { attempts: 101 },
            ),
            (
                b().attempt_timeout(Duration::ZERO),
                PolicyError::ZeroTimeout,
            ),
            (
                b().attempt_timeout(8 * day),
                PolicyError::DurationTooLong {
                    what: "attempt timeout",
                    value: 8 * day,
                },
            ),
            (
                b().schedule([secs(1), 8 * day, secs(1)]),
                PolicyError::DurationTooLong {
                    what: "wait",
                    value: 8 * day,
                },
            ),
            (
                b().honour_retry_after(8 * day),
                PolicyError::DurationTooLong {
                    what: "Retry-After cap",
                    value: 8 * day,
                },
            ),
            (
                b().exponential(secs(1), 0.5, secs(2)),
                PolicyError::InvalidFactor {
                    factor: "0.5".into(),
                },
            ),
            (
                b().exponential(secs(1), f64::NAN, secs(2)),
                PolicyError::InvalidFactor {
                    factor: "NaN".into(),
                },
            ),
            (
                b().exponential(secs(3), 2.0, secs(2)),
                PolicyError::CapBelowBase {
                    base: secs(3),
                    cap: secs(2),
                },
            ),
            (
                b().jitter(Jitter::Proportional(1.5)),
                PolicyError::InvalidJitter {
                    ratio: "1.5".into(),
                },
            ),
            (
                b().jitter(Jitter::Proportional(f64::INFINITY)),
                PolicyError::InvalidJitter {
                    ratio: "inf".into(),
                },
            ),
            (
                b().status(99, StatusClass::Retry),
                PolicyError::InvalidStatus { status: 99 },
            ),
            (
                b().status(1000, StatusClass::Retry),
                PolicyError::InvalidStatus { status: 1000 },
            ),
        ];
        for (builder, expected) in cases {
            let error = builder.build().unwrap_err();
            assert_eq!(error, expected);
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let message = PolicyError::ScheduleLength {
            attempts: 3,
            waits: 6,
        }
        .to_string();
        assert!(message.contains("3 attempts need 2 waits"), "{message}");
        assert!(
            PolicyError::NoAttempts
                .to_string()
                .contains("at least 1 attempt")
        );
    }

    #[test]
    fn overrides_can_be_cleared() {
        let policy = RetryPolicy::standard()
            .to_builder()
            .clear_status_overrides()
            .ignore_retry_after()
            .jitter(Jitter::None)
            .build()
            .unwrap();
        assert_eq!(policy, RetryPolicy::tinyfish());
    }
}
