//! The flags `send` and `trigger` share, and delivering one payload with them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use runhook::{AddressPolicy, RetryPolicy};
use runhook_dispatch::{DeliveryOutcome, DispatcherBuilder, SubmitError};

use crate::exit::Exit;
use crate::progress::Progress;

/// Where and how to deliver.
#[derive(Debug, clap::Args)]
pub(crate) struct DeliveryArgs {
    /// The webhook URL. https only; plain http only to a loopback host with --insecure-localhost.
    #[arg(long, value_name = "URL")]
    pub(crate) to: String,
    /// The retry policy: `tinyfish` (4 attempts, waits 1 s/2 s/4 s, 4xx final) or `standard`
    /// (also retries 408/425/429, honours Retry-After up to 60 s, ±25 % jitter).
    #[arg(long, value_enum, default_value_t = PolicyName::Tinyfish)]
    pub(crate) policy: PolicyName,
    /// Also trust the CA certificate(s) in this PEM file (e.g. a local test CA).
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Allow loopback addresses (localhost, 127.0.0.0/8, ::1) and plain http to them. For local
    /// development only.
    #[arg(long)]
    pub(crate) insecure_localhost: bool,
    /// Allow private networks (RFC 1918, CGNAT, unique-local IPv6). For local development only.
    #[arg(long)]
    pub(crate) allow_private_networks: bool,
    /// The per-attempt timeout in milliseconds, instead of the policy's (10 000).
    #[arg(long, value_name = "N")]
    pub(crate) timeout_ms: Option<u64>,
    /// Print JSON Lines: one object per attempt, then the outcome.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The retry policy presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PolicyName {
    /// TinyFish's documented table, exactly.
    Tinyfish,
    /// TinyFish's table, plus 408/425/429 retried, Retry-After honoured, jitter.
    Standard,
}

impl DeliveryArgs {
    fn retry_policy(&self) -> anyhow::Result<RetryPolicy> {
        let policy = match self.policy {
            PolicyName::Tinyfish => RetryPolicy::tinyfish(),
            PolicyName::Standard => RetryPolicy::standard(),
        };
        match self.timeout_ms {
            None => Ok(policy),
            Some(ms) => policy
                .to_builder()
                .attempt_timeout(Duration::from_millis(ms))
                .build()
                .with_context(|| format!("--timeout-ms {ms} is not usable")),
        }
    }

    fn address_policy(&self) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: self.insecure_localhost,
            allow_private: self.allow_private_networks,
        }
    }

    /// Delivers `body` (already validated) and prints one line per attempt and a summary,
    /// preceded by `header` once the URL is accepted (human output only).
    pub(crate) fn deliver(&self, body: Bytes, header: Option<String>) -> anyhow::Result<Exit> {
        let policy = self.retry_policy()?;
        let mut builder = DispatcherBuilder::new().address_policy(self.address_policy());
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
            builder = builder
                .add_root_certificates_pem(&pem)
                .with_context(|| format!("cannot use the CA certificate {}", path.display()))?;
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let dispatcher = builder.build().context("cannot set up the HTTP client")?;
            let mut reports = dispatcher.subscribe();
            let handle = match dispatcher.submit(&self.to, body, policy) {
                Ok(handle) => handle,
                Err(error) => return Err(refusal(&self.to, error)),
            };
            if let Some(header) = header.filter(|_| !self.json) {
                println!("{header}");
            }
            let mut progress = Progress::new(self.json, &self.to);
            let id = handle.id();
            // Every attempt is reported before the outcome; the last report carries it.
            let outcome = loop {
                match reports.recv().await {
                    Ok(report) if report.delivery_id == id => {
                        progress.attempt(&report)?;
                        if let Some(outcome) = report.outcome {
                            break outcome;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break handle.outcome().await,
                }
            };
            progress.outcome(&outcome)?;
            dispatcher.shutdown(Duration::ZERO).await;
            Ok(match outcome {
                DeliveryOutcome::Delivered { .. } => Exit::Success,
                DeliveryOutcome::Refused { .. } => Exit::Usage,
                _ => Exit::Failure,
            })
        })
    }
}

/// Explains why a URL was refused before anything was sent.
fn refusal(url: &str, error: SubmitError) -> anyhow::Error {
    match error {
        SubmitError::ShuttingDown => anyhow!("internal error: {error}"),
        error => anyhow!("refusing to send to {url}: {error}"),
    }
}
