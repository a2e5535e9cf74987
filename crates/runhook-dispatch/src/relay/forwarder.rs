//! The forwarder: one POST per claimed row, and what the app's answer means for the row.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
use runhook::delivery::{AttemptResult, RetryDecision};
use runhook::inbox::{Inbox, InboxClaim};
use runhook::{AddressPolicy, Event, HandlerOutcome, RetryPolicy};
use runhook_receiver::Received;
use runhook_receiver::inbox::{InboxProcessor, Processed};

use super::health::{Health, HealthObserver, TargetHealth};
use super::outage;
use super::policy::{DEFAULT_FORWARD_TIMEOUT, MISCONFIGURED};
use crate::classify::{SendError, status_text};
use crate::error::BuildError;
use crate::sender::{Exchange, Sender, Target, TargetError};

/// How much of the app's answer body a retried or dead row's error keeps: 1 KiB.
pub const ANSWER_EXCERPT: usize = 1024;

/// The address rules of a forward target: public addresses, and loopback (the operator's own
/// app, usually next to the relay; plain `http` only there). Private networks are refused.
pub(super) const POLICY: AddressPolicy = AddressPolicy {
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
pub struct Forwarder {
    sender: Sender,
    target: Target,
    timeout: Duration,
    policy: RetryPolicy,
    health: Arc<Health>,
    inbox: Option<Arc<dyn Inbox>>,
}

/// Builds a [`Forwarder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ForwarderBuilder {
    url: String,
    timeout: Duration,
    connections: usize,
    policy: RetryPolicy,
    observer: Option<HealthObserver>,
    down_after: u32,
    probe_every: Duration,
    still_down_every: Duration,
}

impl std::fmt::Debug for ForwarderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwarderBuilder")
            .field("timeout", &self.timeout)
            .field("connections", &self.connections)
            .field("observer", &self.observer.is_some())
            .field("down_after", &self.down_after)
            .field("probe_every", &self.probe_every)
            .field("still_down_every", &self.still_down_every)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .field("health", &self.health)
            .field("inbox", &self.inbox.is_some())
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

    /// How many forwards in a row must fail for the target (no answer: a network error or a
    /// timeout; or a 5xx other than 501) before it is down ([`TargetHealth::Down`]); default
    /// [`DEFAULT_DOWN_AFTER`](Forwarder::DEFAULT_DOWN_AFTER), at least 1. A failure now and
    /// then between 2xx answers (one row the app cannot take) leaves the target up.
    pub fn down_after(mut self, failures: u32) -> Self {
        self.down_after = failures.max(1);
        self
    }

    /// How often a target that is down is probed (default
    /// [`DEFAULT_PROBE_EVERY`](Forwarder::DEFAULT_PROBE_EVERY)): a TCP connection to it (its
    /// addresses checked as for a forward; nothing sent). With an inbox
    /// ([`Forwarder::with_inbox`]), when its port opens after being closed, the oldest waiting
    /// row is made due, so that an attempt finds the target back within about this long,
    /// however far the rows' backoff has grown: one attempt per reopening, not per probe, so a
    /// long outage does not spend a row's attempts.
    pub fn probe_every(mut self, every: Duration) -> Self {
        self.probe_every = every;
        self
    }

    /// How often a target still down is told ([`TargetHealth::StillDown`]); default
    /// [`DEFAULT_STILL_DOWN_EVERY`](Forwarder::DEFAULT_STILL_DOWN_EVERY).
    pub fn still_down_every(mut self, every: Duration) -> Self {
        self.still_down_every = every;
        self
    }

    /// Called with the target once per change of what the app's answers say ([`TargetHealth`]:
    /// the relay looks misconfigured; the target is down, still down, up again), not once per
    /// row. Keep it quick (a log line).
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
        outage::record_up(&target, true);
        Ok(Forwarder {
            sender,
            target,
            timeout: self.timeout,
            policy: self.policy,
            health: Arc::new(Health::new(
                self.observer,
                self.down_after,
                self.probe_every,
                self.still_down_every,
            )),
            inbox: None,
        })
    }
}

impl Forwarder {
    /// The default of [`ForwarderBuilder::down_after`]: 3 failures in a row.
    pub const DEFAULT_DOWN_AFTER: u32 = 3;

    /// The default of [`ForwarderBuilder::probe_every`]: 2 s.
    pub const DEFAULT_PROBE_EVERY: Duration = Duration::from_secs(2);

    /// The default of [`ForwarderBuilder::still_down_every`]: 30 s.
    pub const DEFAULT_STILL_DOWN_EVERY: Duration = Duration::from_secs(30);

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
            down_after: Self::DEFAULT_DOWN_AFTER,
            probe_every: Self::DEFAULT_PROBE_EVERY,
            still_down_every: Self::DEFAULT_STILL_DOWN_EVERY,
        }
    }

    /// The same forwarder, knowing the inbox whose rows it forwards: when the target answers 2xx
    /// after being down, the rows waiting for a later attempt are made due at once
    /// ([`Inbox::retry_pending`]), before the attempt that found the target up returns (the
    /// workers, woken by its end, claim them, at most their concurrency at a time); and while
    /// the target is down, its oldest waiting row is made due every
    /// [`probe_every`](ForwarderBuilder::probe_every) (to find out when the target is back) and
    /// [`TargetHealth::StillDown`] counts the rows waiting.
    pub fn with_inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// Whether the target is down now ([`TargetHealth::Down`] told, [`TargetHealth::Up`] not
    /// yet): a failed attempt then is the target's failure, already told, rather than news
    /// about its row.
    pub fn is_down(&self) -> bool {
        self.health.is_down()
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
        let inbox = self.inbox.as_ref();
        match exchange.status {
            Some(status) => {
                self.health.answered(&self.target, status);
                if (200..300).contains(&status) {
                    self.health.succeeded(&self.target, inbox).await;
                } else if (500..600).contains(&status) && !MISCONFIGURED.contains(&status) {
                    let error = format!("the app answered {}", status_text(status));
                    self.health.failed(&self.target, &error, inbox);
                }
                self.judge(status, &exchange).answered(status)
            }
            None => {
                let error = self.failure(&exchange);
                self.health.failed(&self.target, &error, inbox);
                Processed::Outcome(HandlerOutcome::retry(error))
            }
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
