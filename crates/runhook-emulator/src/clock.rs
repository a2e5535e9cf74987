//! Scripted time: durations from scenarios and the retry policy's waits run `speed` times
//! faster than written. Every clock here is tokio's, so a test with a paused clock
//! (`tokio::time::pause`) drives the emulator's runs and webhook retries.

use std::time::{Duration, Instant};

/// Converts scripted durations to real ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Speed(f64);

impl Speed {
    /// `factor` is checked by the configuration (finite, above zero).
    pub(crate) fn new(factor: f64) -> Self {
        Speed(factor)
    }

    /// The real duration of a scripted one.
    pub(crate) fn real(self, scripted: Duration) -> Duration {
        scripted.div_f64(self.0)
    }

    /// Sleeps for the real duration of `scripted`.
    pub(crate) async fn sleep(self, scripted: Duration) {
        tokio::time::sleep(self.real(scripted)).await;
    }
}

/// A clock that runs `speed` times faster than tokio's from the moment it is made: the retry
/// state machine reads it, so its waits shrink by the speed factor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VirtualClock {
    origin: tokio::time::Instant,
    speed: Speed,
}

impl VirtualClock {
    pub(crate) fn start(speed: Speed) -> Self {
        VirtualClock {
            origin: tokio::time::Instant::now(),
            speed,
        }
    }

    /// The virtual now (as a `std` instant, which the retry state machine reads).
    pub(crate) fn now(&self) -> Instant {
        let real = self.origin.elapsed();
        let virtual_elapsed = real.mul_f64(self.speed.0);
        let origin = self.origin.into_std();
        origin.checked_add(virtual_elapsed).unwrap_or(origin)
    }

    /// Sleeps until the virtual instant `at`.
    pub(crate) async fn sleep_until(&self, at: Instant) {
        let wait = at.saturating_duration_since(self.now());
        self.speed.sleep(wait).await;
    }

    /// How long a virtual wait takes in real time.
    pub(crate) fn real(&self, scripted: Duration) -> Duration {
        self.speed.real(scripted)
    }
}

/// Waits until `signal` turns true; forever if its sender is gone.
pub(crate) async fn until_true(signal: &mut tokio::sync::watch::Receiver<bool>) {
    if signal.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}
