//! How an emulator is set up: API keys, loopback webhooks, speed, scenario, store, observer,
//! bounds.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use runhook::RetryPolicy;
use runhook_receiver::server::ServerLimits;

use crate::activity::Activity;
use crate::error::EmulatorError;
use crate::scenario::Scenario;

/// A callback that sees every API call and every webhook attempt (the CLI prints them).
pub(crate) type Observer = Arc<dyn Fn(&Activity) + Send + Sync>;

/// The slowest speed factor accepted.
pub(crate) const MIN_SPEED: f64 = 0.01;
/// The fastest speed factor accepted.
pub(crate) const MAX_SPEED: f64 = 1_000_000.0;

/// How many runs are kept by default ([`EmulatorConfig::max_runs`]).
pub const DEFAULT_MAX_RUNS: usize = 10_000;

/// Where runs are kept.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// In this process only (the default): gone when the emulator stops.
    #[default]
    Memory,
    /// In a SQLite file, kept across restarts. Runs still in progress when the emulator stopped
    /// are marked FAILED (`SYSTEM_FAILURE`, "the emulator restarted") when it starts again.
    Sqlite(PathBuf),
}

impl StoreConfig {
    /// Parses `memory` or `sqlite:PATH`.
    pub fn parse(url: &str) -> Result<Self, EmulatorError> {
        if url == "memory" {
            return Ok(StoreConfig::Memory);
        }
        match url.strip_prefix("sqlite:") {
            Some(path) if !path.is_empty() => {
                let path = path.strip_prefix("//").unwrap_or(path);
                Ok(StoreConfig::Sqlite(PathBuf::from(path)))
            }
            _ => Err(EmulatorError::BadStoreUrl(runhook::endpoint::redact_url(
                url,
            ))),
        }
    }
}

/// The emulator's settings. Start from [`EmulatorConfig::new`] with the accepted API keys.
#[derive(Clone)]
pub struct EmulatorConfig {
    pub(crate) api_keys: Vec<String>,
    pub(crate) allow_http_loopback: bool,
    pub(crate) allow_https_loopback: bool,
    pub(crate) webhook_roots_pem: Vec<Vec<u8>>,
    pub(crate) speed: f64,
    pub(crate) scenario: Scenario,
    pub(crate) store: StoreConfig,
    pub(crate) retry_policy: RetryPolicy,
    pub(crate) observer: Option<Observer>,
    pub(crate) max_runs: usize,
    pub(crate) server_limits: ServerLimits,
    pub(crate) throttle_reads: Option<(f64, Duration)>,
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("api_keys", &self.api_keys.len())
            .field("allow_http_loopback", &self.allow_http_loopback)
            .field("allow_https_loopback", &self.allow_https_loopback)
            .field("webhook_roots", &self.webhook_roots_pem.len())
            .field("speed", &self.speed)
            .field("scenario", &self.scenario)
            .field("store", &self.store)
            .field("retry_policy", &self.retry_policy)
            .field("observer", &self.observer.is_some())
            .field("max_runs", &self.max_runs)
            .field("server_limits", &self.server_limits)
            .field("throttle_reads", &self.throttle_reads)
            .finish()
    }
}

impl EmulatorConfig {
    /// Accepts requests carrying one of `api_keys` in `X-API-Key`; HTTPS webhooks only, real
    /// time, the default scenario, runs in memory, TinyFish's retry policy.
    pub fn new<I, K>(api_keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        EmulatorConfig {
            api_keys: api_keys.into_iter().map(Into::into).collect(),
            allow_http_loopback: false,
            allow_https_loopback: false,
            webhook_roots_pem: Vec::new(),
            speed: 1.0,
            scenario: Scenario::default(),
            store: StoreConfig::Memory,
            retry_policy: RetryPolicy::tinyfish(),
            observer: None,
            max_runs: DEFAULT_MAX_RUNS,
            server_limits: ServerLimits::default(),
            throttle_reads: None,
        }
    }

    /// Also accept `webhook_url`s that are plain `http://` to a loopback host (127.0.0.0/8,
    /// `localhost`, `[::1]`), and deliver to loopback addresses. Off by default: TinyFish
    /// requires HTTPS.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// Also accept `webhook_url`s that are `https://` to a loopback host, and deliver to loopback
    /// addresses; plain `http://` stays refused unless
    /// [`allow_http_loopback`](Self::allow_http_loopback) is set too. For a local receiver served
    /// over TLS (with [`add_webhook_root_certificate_pem`](Self::add_webhook_root_certificate_pem)
    /// for its certificate). Off by default.
    pub fn allow_https_loopback(mut self, allow: bool) -> Self {
        self.allow_https_loopback = allow;
        self
    }

    /// Also trust the certificates of `pem` (one or more, PEM) as roots when delivering
    /// webhooks: a local test CA, or a receiver's self-signed certificate. The built-in roots
    /// stay trusted. A PEM that holds no certificate makes [`Emulator::start`](crate::Emulator::start)
    /// fail.
    pub fn add_webhook_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.webhook_roots_pem.push(pem.into());
        self
    }

    /// Runs go `speed` times faster than scripted (default 1; 0.01 to 1 000 000). The waits between webhook
    /// attempts and simulated timeouts shrink by the same factor; a real attempt keeps the
    /// policy's full timeout.
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }

    /// The scenario that scripts each run's outcome (default: [`Scenario::default`]).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenario = scenario;
        self
    }

    /// Where runs are kept (default: memory).
    pub fn store(mut self, store: StoreConfig) -> Self {
        self.store = store;
        self
    }

    /// The webhook retry policy (default: [`RetryPolicy::tinyfish`], TinyFish's documented
    /// table). Tests may shorten it.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How many runs are kept at most (default [`DEFAULT_MAX_RUNS`], at least 1), in memory
    /// and in a SQLite store. Creating a run beyond it first evicts the oldest finished run;
    /// when every run kept is still in progress, creating one is refused with 429
    /// `RATE_LIMIT_EXCEEDED` (a batch needs room for all its runs).
    pub fn max_runs(mut self, max_runs: usize) -> Self {
        self.max_runs = max_runs;
        self
    }

    /// The HTTP server's timeouts and limits (default: [`ServerLimits::default`], those of
    /// `runhook listen`: a 10 s header timeout, a 30 s idle timeout, 4096 connections). The
    /// shutdown's grace period is the emulator's own (2 s), whatever `limits.grace` says.
    pub fn server_limits(mut self, limits: ServerLimits) -> Self {
        self.server_limits = limits;
        self
    }

    /// Calls `observer` for every API call and every webhook attempt, as they happen.
    pub fn observer(mut self, observer: impl Fn(&Activity) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Answers a `fraction` (0.0–1.0) of the reads a reconciler makes (`GET /v1/runs` and
    /// `POST /v1/runs/batch`) with 429 `RATE_LIMIT_EXCEEDED` and `Retry-After: retry_after`
    /// (whole seconds, at least 1), spread evenly, as a rate-limited API would. Off by default.
    pub fn throttle_reads(mut self, fraction: f64, retry_after: Duration) -> Self {
        self.throttle_reads = Some((fraction, retry_after));
        self
    }

    /// Checks the keys and the speed.
    pub(crate) fn validate(&self) -> Result<(), EmulatorError> {
        if self.api_keys.is_empty() {
            return Err(EmulatorError::NoApiKey);
        }
        let visible =
            |key: &String| !key.is_empty() && key.bytes().all(|b| (0x21..0x7f).contains(&b));
        if !self.api_keys.iter().all(visible) {
            return Err(EmulatorError::BadApiKey);
        }
        if !(MIN_SPEED..=MAX_SPEED).contains(&self.speed) {
            return Err(EmulatorError::BadSpeed(self.speed));
        }
        if self.max_runs == 0 {
            return Err(EmulatorError::BadMaxRuns);
        }
        if let Some((fraction, _)) = self.throttle_reads
            && !(0.0..=1.0).contains(&fraction)
        {
            return Err(EmulatorError::BadThrottle(fraction));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse() {
        assert_eq!(StoreConfig::parse("memory").ok(), Some(StoreConfig::Memory));
        assert_eq!(
            StoreConfig::parse("sqlite:runs.db").ok(),
            Some(StoreConfig::Sqlite(PathBuf::from("runs.db")))
        );
        assert!(StoreConfig::parse("sqlite:").is_err());
        assert!(StoreConfig::parse("postgres://x").is_err());
    }

    #[test]
    fn keys_and_speed_are_checked() {
        assert!(
            EmulatorConfig::new(Vec::<String>::new())
                .validate()
                .is_err()
        );
        assert!(EmulatorConfig::new(["a b"]).validate().is_err());
        assert!(EmulatorConfig::new(["k"]).speed(0.0).validate().is_err());
        assert!(
            EmulatorConfig::new(["k"])
                .speed(f64::NAN)
                .validate()
                .is_err()
        );
        assert!(EmulatorConfig::new(["k"]).speed(50.0).validate().is_ok());
    }
}
