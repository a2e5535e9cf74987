//! The forwarder: one POST per claimed row, and what the app's answer means for the row.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
use runhook::delivery::{AttemptResult, RetryDecision};
use runhook::inbox::InboxClaim;
use runhook::{AddressPolicy, Event, HandlerOutcome, RetryPolicy};
use runhook_receiver::Received;
use runhook_receiver::inbox::{InboxProcessor, Processed};

use super::health::{Health, HealthObserver, TargetHealth};
use super::policy::DEFAULT_FORWARD_TIMEOUT;
use crate::classify::{SendError, status_text};
use crate::error::BuildError;
use crate::sender::{Exchange, Sender, Target, TargetError};

/// How much of the app's answer body a retried or dead row's error keeps: 1 KiB.
pub const ANSWER_EXCERPT: usize = 1024;

/// The address rules of a forward target: public addresses, and loopback (the operator's own
/// app, usually next to the relay; plain `http` only there). Private networks are refused.
const POLICY: AddressPolicy = AddressPolicy {
    allow_loopback: true,
    allow_private: false,
};

/// Why a [`Forwarder`] could not be built, or the relay's policy could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// The target URL is refused: plain `http` to a host that is not loopback, user-info, a
    /// forbidden address, or not a URL.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] BuildError),
    /// The retry settings make no valid policy.
    #[error("invalid retry settings: {0}")]
    Policy(String),
}

/// Forwards claimed inbox rows to the app; see the [module docs](super). An
/// [`InboxProcessor`]: give it to a receiver in inbox mode.
#[derive(Debug)]
pub struct Forwarder {
    sender: Sender,
    target: Target,
    timeout: Duration,
    policy: RetryPolicy,
    health: Health,
}

/// Builds a [`Forwarder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ForwarderBuilder {
    url: String,
    timeout: Duration,
    connections: usize,
    policy: RetryPolicy,
    observer: Option<HealthObserver>,
}

impl std::fmt::Debug for ForwarderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwarderBuilder")
            .field("timeout", &self.timeout)
            .field("connections", &self.connections)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl ForwarderBuilder {
    /// How long one forward attempt may take, from connect to the end of the answer's body
    /// (default [`DEFAULT_FORWARD_TIMEOUT`]). Keep the inbox policy's attempt timeout above it
    /// ([`policy`](super::policy) adds [`WORKER_MARGIN`](super::WORKER_MARGIN)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many idle connections to the app are kept (default 16): the number of rows
    /// forwarded at once.
    pub fn connections(mut self, connections: usize) -> Self {
        self.connections = connections.max(1);
        self
    }

    /// The policy whose status table classifies the app's answers (default
    /// [`RetryPolicy::inbox`]); pass the inbox's own (from [`policy`](super::policy)).
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Called with the target once per change of what the app's answers say about the relay's
    /// configuration ([`TargetHealth`]), not once per row. Keep it quick (a log line).
    pub fn on_health_change(
        mut self,
        observer: impl Fn(&Target, &TargetHealth) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Checks the target and builds the HTTP client.
    pub fn build(self) -> Result<Forwarder, RelayError> {
        let sender = Sender::builder()
            .address_policy(POLICY)
            .max_idle_per_host(self.connections)
            .build()?;
        let target = sender.target(&self.url)?;
        Ok(Forwarder {
            sender,
            target,
            timeout: self.timeout,
            policy: self.policy,
            health: Health::new(self.observer),
        })
    }
}

impl Forwarder {
    /// A forwarder to `url`: `https` to a public address, or plain `http` to a loopback host
    /// (`localhost`, `127.0.0.0/8`, `[::1]`); checked by [`build`](ForwarderBuilder::build),
    /// and every address a host name resolves to is checked again on each connection.
    pub fn builder(url: impl Into<String>) -> ForwarderBuilder {
        ForwarderBuilder {
            url: url.into(),
            timeout: DEFAULT_FORWARD_TIMEOUT,
            connections: 16,
            policy: RetryPolicy::inbox(),
            observer: None,
        }
    }

    /// Where rows are forwarded.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// How long one attempt may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The misconfigured status the app answered last, while it keeps answering one
    /// ([`TargetHealth::Misconfigured`]).
    pub fn misconfigured(&self) -> Option<u16> {
        self.health.current()
    }

    /// One attempt of the row `key` (`attempt`, 1-based), with its body exactly as received:
    /// what the row comes to, with the app's status when it answered.
    pub async fn forward(&self, key: &str, attempt: u32, body: Bytes) -> Processed {
        let Ok(key_value) = HeaderValue::from_str(key) else {
            return Processed::Outcome(HandlerOutcome::reject(
                "the row's key holds characters an Idempotency-Key header cannot carry",
            ));
        };
        let exchange = self
            .sender
            .post(&self.target, body)
            .header(HeaderName::from_static("idempotency-key"), key_value)
            .header(
                HeaderName::from_static("x-runhook-attempt"),
                HeaderValue::from(attempt),
            )
            .timeout(self.timeout)
            .send()
            .await;
        match exchange.status {
            Some(status) => {
                self.health.answered(&self.target, status);
                self.judge(status, &exchange).answered(status)
            }
            None => Processed::Outcome(HandlerOutcome::retry(self.failure(&exchange))),
        }
    }

    /// What the app's answer `status` means, by the policy's table.
    fn judge(&self, status: u16, exchange: &Exchange) -> Processed {
        let result = AttemptResult::Response {
            status,
            retry_after: exchange.retry_after,
        };
        let answered = format!("the app answered {}", status_text(status));
        let body = body_excerpt(exchange);
        match self.policy.classify(&result) {
            RetryDecision::Delivered => Processed::Outcome(HandlerOutcome::Ok),
            RetryDecision::GiveUp => {
                Processed::Outcome(HandlerOutcome::reject(format!("{answered}{body}")))
            }
            RetryDecision::Retry { after: Some(after) } => Processed::RetryAfter {
                reason: format!("{answered} (Retry-After: {} s){body}", after.as_secs()),
                after,
            },
            _ => Processed::Outcome(HandlerOutcome::retry(format!("{answered}{body}"))),
        }
    }

    /// Why no answer came.
    fn failure(&self, exchange: &Exchange) -> String {
        match &exchange.error {
            Some(SendError::Timeout) | None => format!(
                "the app did not answer within {} ms",
                self.timeout.as_millis()
            ),
            Some(SendError::Refused(refused)) => refused.to_string(),
            Some(error @ SendError::Network { kind, .. })
                if *kind == runhook::delivery::NetworkErrorKind::Connect =>
            {
                format!("cannot connect to the app: {error}")
            }
            Some(error) => format!("the exchange with the app failed: {error}"),
        }
    }
}

#[async_trait]
impl InboxProcessor for Forwarder {
    async fn process(&self, claim: &InboxClaim, _event: Received<Event>) -> Processed {
        let entry = &claim.entry;
        self.forward(entry.key.as_str(), entry.attempts, entry.body.clone())
            .await
    }
}

/// `": <the first KiB of the body>"`, on one line (control characters escaped), with `…` when
/// cut; empty for an empty body.
fn body_excerpt(exchange: &Exchange) -> String {
    let (text, truncated) = exchange.excerpt(ANSWER_EXCERPT);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut line = String::with_capacity(text.len() + 8);
    line.push_str(": ");
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    if truncated {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &[u8], truncated: bool) -> Exchange {
        Exchange {
            status: Some(500),
            body: Bytes::copy_from_slice(body),
            body_truncated: truncated,
            ..Exchange::default()
        }
    }

    #[test]
    fn the_body_excerpt_is_one_line_of_at_most_a_kib() {
        assert_eq!(body_excerpt(&exchange(b"", false)), "");
        assert_eq!(body_excerpt(&exchange(b"  \n", false)), "");
        assert_eq!(
            body_excerpt(&exchange(b"{\"error\":\"db down\"}\n", false)),
            ": {\"error\":\"db down\"}"
        );
        assert_eq!(
            body_excerpt(&exchange(b"line 1\nline 2", false)),
            ": line 1\\nline 2"
        );
        let long = vec![b'x'; 3000];
        let cut = body_excerpt(&exchange(&long, false));
        assert_eq!(cut.len(), 2 + ANSWER_EXCERPT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
    }
}
