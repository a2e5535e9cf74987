//! One attempt of a delivery: the [`Sender`] posts the event once within the attempt's deadline,
//! and the result goes back to the driver.

use bytes::Bytes;
use runhook::delivery::AttemptResult;
use tokio::time::Instant;

use crate::error::AddressRefused;
use crate::report::DeliveryId;
use crate::sender::{Sender, Target};

/// Everything an attempt task needs; moved into the task.
pub(crate) struct AttemptSpec {
    pub(crate) id: DeliveryId,
    pub(crate) attempt: u32,
    pub(crate) sender: Sender,
    pub(crate) target: Target,
    pub(crate) body: Bytes,
    pub(crate) deadline: Instant,
    pub(crate) excerpt_limit: usize,
}

/// What an attempt task hands back to the driver.
#[derive(Debug)]
pub(crate) struct AttemptDone {
    pub(crate) id: DeliveryId,
    pub(crate) attempt: u32,
    /// The result for the retry policy, or the refusal that ends the delivery.
    pub(crate) result: Result<AttemptResult, AddressRefused>,
    pub(crate) status: Option<u16>,
    pub(crate) error: Option<String>,
    pub(crate) latency: std::time::Duration,
    pub(crate) body_excerpt: String,
    pub(crate) body_truncated: bool,
}

/// Runs one attempt and always reports back: the sender turns every failure, a panic included,
/// into the exchange's error.
pub(crate) async fn perform(spec: AttemptSpec) -> AttemptDone {
    let exchange = spec
        .sender
        .post(&spec.target, spec.body)
        .deadline(spec.deadline)
        .send()
        .await;
    let (body_excerpt, body_truncated) = exchange.excerpt(spec.excerpt_limit);
    AttemptDone {
        id: spec.id,
        attempt: spec.attempt,
        result: exchange.result(),
        status: exchange.status,
        error: exchange.error.as_ref().map(ToString::to_string),
        latency: exchange.latency,
        body_excerpt,
        body_truncated,
    }
}
