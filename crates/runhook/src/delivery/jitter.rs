//! Randomising retry waits so that many deliveries failing together do not retry together.
//!
//! The generator is always passed in (a [`Delivery`](super::Delivery) owns one seeded from its
//! seed): the core never draws from the operating system or a thread-local generator.

use std::time::Duration;

use rand::{Rng, RngExt};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// How a scheduled wait is randomised.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Jitter {
    /// The wait is exactly the scheduled one (the TinyFish preset).
    #[default]
    None,
    /// "Full jitter": the wait is drawn uniformly from `[0, w]` for a scheduled wait `w`.
    Full,
    /// The wait is drawn uniformly from `[w × (1 − r), w × (1 + r)]` for a ratio `r` in `[0, 1]`.
    /// The builder refuses ratios outside `[0, 1]`; [`bounds`](Self::bounds) clamps them.
    Proportional(f64),
}

impl Jitter {
    /// The inclusive range a wait scheduled as `wait` is drawn from, to the nanosecond.
    pub fn bounds(self, wait: Duration) -> (Duration, Duration) {
        let nanos = wait.as_nanos();
        match self {
            Jitter::None => (wait, wait),
            Jitter::Full => (Duration::ZERO, wait),
            Jitter::Proportional(ratio) => {
                let ratio = if ratio.is_finite() {
                    ratio.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                // Float-to-int casts saturate; the product is at most `nanos`, so the subtraction
                // cannot underflow and the addition cannot overflow a u128.
                let delta = (nanos as f64 * ratio) as u128;
                let delta = delta.min(nanos);
                (from_nanos(nanos - delta), from_nanos(nanos + delta))
            }
        }
    }

    /// Draws the wait for a scheduled `wait` from `rng`. Draws nothing when the range is a single
    /// value, so a policy without jitter leaves the generator untouched.
    pub(crate) fn apply<R: Rng + ?Sized>(self, wait: Duration, rng: &mut R) -> Duration {
        let (low, high) = self.bounds(wait);
        if low >= high {
            return low;
        }
        from_nanos(rng.random_range(low.as_nanos()..=high.as_nanos()))
    }
}

/// A duration of `nanos` nanoseconds, saturating at [`Duration::MAX`].
fn from_nanos(nanos: u128) -> Duration {
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10⁹, so it fits a u32.
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn bounds_of_each_kind() {
        assert_eq!(Jitter::None.bounds(SECOND), (SECOND, SECOND));
        assert_eq!(Jitter::Full.bounds(SECOND), (Duration::ZERO, SECOND));
        assert_eq!(
            Jitter::Proportional(0.25).bounds(Duration::from_secs(4)),
            (Duration::from_secs(3), Duration::from_secs(5))
        );
        assert_eq!(
            Jitter::Proportional(1.0).bounds(SECOND),
            (Duration::ZERO, 2 * SECOND)
        );
    }

    #[test]
    fn out_of_range_ratios_are_clamped_not_panicking() {
        assert_eq!(
            Jitter::Proportional(f64::NAN).bounds(SECOND),
            (SECOND, SECOND)
        );
        assert_eq!(Jitter::Proportional(-3.0).bounds(SECOND), (SECOND, SECOND));
        assert_eq!(
            Jitter::Proportional(7.0).bounds(SECOND),
            (Duration::ZERO, 2 * SECOND)
        );
        assert_eq!(
            Jitter::Proportional(1.0).bounds(Duration::MAX).1,
            Duration::MAX
        );
    }

    #[test]
    fn draws_stay_in_bounds_and_spread() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let wait = Duration::from_secs(2);
        let jitter = Jitter::Proportional(0.5);
        let (low, high) = jitter.bounds(wait);
        let draws: Vec<Duration> = (0..200).map(|_| jitter.apply(wait, &mut rng)).collect();
        assert!(draws.iter().all(|d| (low..=high).contains(d)));
        assert!(draws.iter().any(|d| *d < wait) && draws.iter().any(|d| *d > wait));
    }

    #[test]
    fn no_jitter_draws_nothing() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let before = rng.clone();
        assert_eq!(Jitter::None.apply(SECOND, &mut rng), SECOND);
        assert_eq!(Jitter::Full.apply(Duration::ZERO, &mut rng), Duration::ZERO);
        assert_eq!(rng, before);
    }
}
