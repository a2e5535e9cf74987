//! The [`Client`] and its [`ClientBuilder`]: base URL, API key, timeouts, retry policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use runhook::RetryPolicy;
use url::Url;

use crate::BuildError;

/// A client of the TinyFish runs API. Cheap to clone (an `Arc` inside); share one.
///
/// Reads (`GET`, and the idempotent `POST /v1/runs/batch` and cancels) are retried on 429, 5xx,
/// network errors and timeouts under the client's [`RetryPolicy`] (`Retry-After` honoured);
/// run creation is never retried, since a retry could start the run twice.
///
/// ```no_run
/// use runhook_tinyfish::{Client, RunRequest};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::from_env()?; // TINYFISH_API_KEY, and TINYFISH_BASE_URL if set
/// let run_id = client
///     .create_run_async(&RunRequest::new("https://example.com", "Extract the page title"))
///     .await?;
/// let run = client.get_run(&run_id).await?;
/// println!("{run_id}: {:?}", run.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// What every request shares.
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// The base URL, without a trailing slash.
    pub(crate) base: String,
    pub(crate) api_key: HeaderValue,
    pub(crate) timeout: Duration,
    pub(crate) run_timeout: Duration,
    pub(crate) policy: RetryPolicy,
    /// The largest answer body read, in bytes.
    pub(crate) max_answer: usize,
}

impl Client {
    /// The production API.
    pub const DEFAULT_BASE_URL: &'static str = "https://agent.tinyfish.ai";
    /// The environment variable holding the API key.
    pub const API_KEY_ENV: &'static str = "TINYFISH_API_KEY";
    /// The environment variable that overrides the base URL (an emulator's, say).
    pub const BASE_URL_ENV: &'static str = "TINYFISH_BASE_URL";
    /// The default timeout of one request (one attempt of a retried one): 30 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default timeout of the blocking `POST /v1/automation/run`: 15 minutes.
    pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
    /// The default limit of an answer's body: 64 MiB (a run with its steps' screenshots fits).
    pub const DEFAULT_MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

    /// A builder; see [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment alone: the key from `TINYFISH_API_KEY`, the
    /// base URL from `TINYFISH_BASE_URL` (default [`Client::DEFAULT_BASE_URL`]).
    pub fn from_env() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The retry policy of reads.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// The timeout of one request (one attempt of a retried one).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("timeout", &self.inner.timeout)
            .field("run_timeout", &self.inner.run_timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]: `Client::builder().base_url(..).api_key(..).timeout(..).build()?`.
///
/// What is not set comes from the environment (`TINYFISH_API_KEY`, `TINYFISH_BASE_URL`), then
/// from the defaults.
#[derive(Clone, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<String>,
    timeout: Option<Duration>,
    run_timeout: Option<Duration>,
    retry_policy: Option<RetryPolicy>,
    max_answer_bytes: Option<usize>,
}

impl ClientBuilder {
    /// The base URL (default: `TINYFISH_BASE_URL`, else [`Client::DEFAULT_BASE_URL`]). A path
    /// is kept as a prefix: `http://127.0.0.1:9000/tinyfish` gives
    /// `http://127.0.0.1:9000/tinyfish/v1/runs`.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The API key (default: `TINYFISH_API_KEY`), sent as `X-API-Key`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// How long one request may take, from sending to the end of the response body; for a
    /// retried read, each attempt (default [`Client::DEFAULT_TIMEOUT`]; the retry policy's
    /// attempt timeout applies too, whichever is shorter). For `stream_run`, it bounds the
    /// wait for the response head only.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long the blocking `create_run` may take (default
    /// [`Client::DEFAULT_RUN_TIMEOUT`]): it answers when the run has finished.
    pub fn run_timeout(mut self, run_timeout: Duration) -> Self {
        self.run_timeout = Some(run_timeout);
        self
    }

    /// The retry policy of reads (default [`RetryPolicy::standard`]: 4 attempts, waits of 1, 2
    /// and 4 s ± 25 %, 429 and 5xx and network errors retried, `Retry-After` honoured up to
    /// 60 s). Run creation is never retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// The largest answer body the client reads, in bytes (default
    /// [`Client::DEFAULT_MAX_ANSWER_BYTES`]). A successful answer over it is not read further and
    /// the call fails with [`Error::Decode`](crate::Error::Decode); an error answer over it keeps
    /// its first bytes.
    pub fn max_answer_bytes(mut self, max_answer_bytes: usize) -> Self {
        self.max_answer_bytes = Some(max_answer_bytes);
        self
    }

    /// The client, or why it cannot be made (no API key, a base URL that is not http(s)).
    pub fn build(self) -> Result<Client, BuildError> {
        self.build_with(|name| std::env::var(name).ok())
    }

    /// [`build`](Self::build), reading the environment through `env`.
    fn build_with(self, env: impl Fn(&str) -> Option<String>) -> Result<Client, BuildError> {
        let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let api_key = non_empty(self.api_key)
            .or_else(|| non_empty(env(Client::API_KEY_ENV)))
            .ok_or(BuildError::MissingApiKey)?;
        let mut api_key =
            HeaderValue::from_str(api_key.trim()).map_err(|_| BuildError::InvalidApiKey)?;
        api_key.set_sensitive(true);
        let base = non_empty(self.base_url)
            .or_else(|| non_empty(env(Client::BASE_URL_ENV)))
            .unwrap_or_else(|| Client::DEFAULT_BASE_URL.to_owned());
        let base = check_base_url(base.trim())?;
        let timeout = self.timeout.unwrap_or(Client::DEFAULT_TIMEOUT);
        let run_timeout = self.run_timeout.unwrap_or(Client::DEFAULT_RUN_TIMEOUT);
        for (name, value) in [("timeout", timeout), ("run_timeout", run_timeout)] {
            if value.is_zero() {
                return Err(BuildError::ZeroTimeout { name });
            }
        }
        let http = reqwest::Client::builder()
            // A redirect would carry the key to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("runhook-tinyfish/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BuildError::Http)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                api_key,
                timeout,
                run_timeout,
                policy: self.retry_policy.unwrap_or_else(RetryPolicy::standard),
                max_answer: self
                    .max_answer_bytes
                    .unwrap_or(Client::DEFAULT_MAX_ANSWER_BYTES),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("run_timeout", &self.run_timeout)
            .field("max_answer_bytes", &self.max_answer_bytes)
            .finish_non_exhaustive()
    }
}

/// The base URL without a trailing slash, if it is an absolute http(s) URL without a query.
fn check_base_url(text: &str) -> Result<String, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidBaseUrl {
        url: runhook::endpoint::redact_url(text),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|err| invalid(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(invalid("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not hold credentials; use the API key"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn the_environment_fills_what_the_builder_leaves_unset() {
        let client = Client::builder()
            .build_with(env(&[("TINYFISH_API_KEY", "k1")]))
            .unwrap();
        assert_eq!(client.base_url(), "https://agent.tinyfish.ai");
        let client = Client::builder()
            .build_with(env(&[
                ("TINYFISH_API_KEY", "k1"),
                ("TINYFISH_BASE_URL", "http://127.0.0.1:9/prefix/"),
            ]))
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9/prefix");
        let client = Client::builder()
            .base_url("http://127.0.0.1:7")
            .build_with(env(&[
                ("TINYFISH_API_KEY", "k1"),
                ("TINYFISH_BASE_URL", "http://127.0.0.1:9"),
            ]))
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:7");
        assert!(!format!("{client:?}").contains("k1"));
    }

    #[test]
    fn a_missing_key_or_a_bad_url_is_refused() {
        assert!(matches!(
            Client::builder().build_with(env(&[("TINYFISH_API_KEY", " ")])),
            Err(BuildError::MissingApiKey)
        ));
        for url in ["ftp://x", "not a url", "http://h/?q=1", "http://u:p@h"] {
            let result = Client::builder()
                .api_key("k")
                .base_url(url)
                .build_with(env(&[]));
            assert!(
                matches!(result, Err(BuildError::InvalidBaseUrl { .. })),
                "{url}"
            );
        }
        assert!(matches!(
            Client::builder().api_key("a\nb").build_with(env(&[])),
            Err(BuildError::InvalidApiKey)
        ));
        assert!(matches!(
            Client::builder()
                .api_key("k")
                .timeout(Duration::ZERO)
                .build_with(env(&[])),
            Err(BuildError::ZeroTimeout { name: "timeout" })
        ));
    }
}
