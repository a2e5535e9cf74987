//! `--confirm-with-api`: the runs client, configured from `TINYFISH_API_KEY` and
//! `TINYFISH_BASE_URL`, as the receiver's confirmer.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use runhook::RetryPolicy;
use runhook::delivery::{Jitter, StatusClass};
use runhook::endpoint::redact_url;
use runhook_receiver::{ReceiverBuilder, RunConfirmer};
use runhook_tinyfish::{BuildError, Client};

/// The timeout of one confirming request: short enough that a retry fits in the receiver's
/// 8 s deadline.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// The retries of a confirming request, within the receiver's deadline: 3 attempts, waits of
/// 250 and 500 ms (± 25 %), 429 and 5xx and network errors retried, `Retry-After` honoured up
/// to 2 s.
fn policy() -> anyhow::Result<RetryPolicy> {
    RetryPolicy::builder()
        .attempts(3)
        .schedule([Duration::from_millis(250), Duration::from_millis(500)])
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .jitter(Jitter::Proportional(0.25))
        .status(429, StatusClass::Retry)
        .honour_retry_after(Duration::from_secs(2))
        .build()
        .map_err(|error| anyhow!("the confirming retry policy: {error}"))
}

/// The confirmer, if `--confirm-with-api` asks for one, reading answers of at most
/// `max_answer` bytes (the receiver's body limit: a larger run could not be processed anyway);
/// a missing API key is a usage error.
pub(super) fn confirmer(
    enabled: bool,
    max_answer: usize,
) -> anyhow::Result<Option<Arc<dyn RunConfirmer>>> {
    if !enabled {
        return Ok(None);
    }
    let builder = Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .retry_policy(policy()?)
        .max_answer_bytes(max_answer);
    let client = match builder.build() {
        Ok(client) => client,
        Err(BuildError::MissingApiKey) => bail!(
            "--confirm-with-api needs a TinyFish API key: set the environment variable {} (and \
             {} to confirm against another API, such as `runhook emulate`)",
            Client::API_KEY_ENV,
            Client::BASE_URL_ENV
        ),
        Err(error) => return Err(anyhow!("--confirm-with-api: {error}")),
    };
    eprintln!(
        "runhook: each delivery is confirmed with GET {}/v1/runs/{{run_id}}; a run the API does \
         not know, or knows in another status, gets 401",
        redact_url(client.base_url())
    );
    Ok(Some(Arc::new(client)))
}

/// `builder`, confirming with `confirmer` if there is one.
pub(super) fn with(
    builder: ReceiverBuilder,
    confirmer: Option<Arc<dyn RunConfirmer>>,
) -> ReceiverBuilder {
    match confirmer {
        Some(confirmer) => builder.confirm_with(confirmer),
        None => builder,
    }
}
