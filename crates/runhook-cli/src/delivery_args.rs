//! The flags `send` and `trigger` share, and delivering one payload with them (see
//! [`crate::repeat`] for many).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use runhook::endpoint::redact_url;
use runhook::{AddressPolicy, RetryPolicy};
use runhook_dispatch::{
    AttemptReport, DispatchOutcome, Dispatcher, DispatcherBuilder, SubmitError,
};

use crate::exit::Exit;
use crate::progress::Progress;

/// Where to deliver: the URL, and whether it is the built-in default (loopback implied).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The webhook URL.
    pub(crate) url: String,
    /// Whether loopback is allowed without --insecure-localhost (only for `trigger`'s default).
    pub(crate) implied_loopback: bool,
}

/// How to deliver (the URL is each command's own `--to`).
#[derive(Debug, clap::Args)]
pub(crate) struct DeliveryArgs {
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
    /// Print JSON Lines: one object per attempt, then the outcome (with `trigger --repeat`: one
    /// object per delivery, then a summary).
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
    /// The retry policy preset, with --timeout-ms.
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

    /// Which addresses may be delivered to.
    fn address_policy(&self, target: &Target) -> AddressPolicy {
        AddressPolicy {
            allow_loopback: self.insecure_localhost || target.implied_loopback,
            allow_private: self.allow_private_networks,
        }
    }

    /// The dispatcher builder: address policy, extra CA certificates, and room for
    /// `concurrency` deliveries to the one host at once.
    pub(crate) fn builder(
        &self,
        target: &Target,
        concurrency: usize,
    ) -> anyhow::Result<DispatcherBuilder> {
        let mut builder = DispatcherBuilder::new()
            .address_policy(self.address_policy(target))
            .max_per_host(concurrency.max(16))
            .max_in_flight(concurrency.max(256));
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
            builder = builder
                .add_root_certificates_pem(&pem)
                .with_context(|| format!("cannot use the CA certificate {}", path.display()))?;
        }
        Ok(builder)
    }

    /// Runs `work` on a fresh single-threaded runtime with a dispatcher for `target`.
    pub(crate) fn with_dispatcher<F, Fut>(
        &self,
        target: &Target,
        concurrency: usize,
        work: F,
    ) -> anyhow::Result<Exit>
    where
        F: FnOnce(Dispatcher, RetryPolicy) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Exit>>,
    {
        let policy = self.retry_policy()?;
        let builder = self.builder(target, concurrency)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let dispatcher = builder.build().context("cannot set up the HTTP client")?;
            let result = work(dispatcher.clone(), policy).await;
            dispatcher.shutdown(Duration::ZERO).await;
            result
        })
    }

    /// Delivers `body` to `target` and prints one line per attempt and a summary, preceded by
    /// `header` once the URL is accepted (human output only).
    pub(crate) fn deliver(
        &self,
        target: &Target,
        body: Bytes,
        header: Option<String>,
    ) -> anyhow::Result<Exit> {
        self.with_dispatcher(target, 1, |dispatcher, policy| async move {
            let mut reports = dispatcher.subscribe();
            let handle = match dispatcher.submit(&target.url, body, policy) {
                Ok(handle) => handle,
                Err(error) => return Err(refusal(&target.url, error)),
            };
            if let Some(header) = header.filter(|_| !self.json) {
                crate::out::line(&header)?;
            }
            let mut progress = Progress::new(self.json, &target.url);
            let id = handle.id();
            // Every attempt is reported before the outcome; the last report carries it.
            let outcome = loop {
                match reports.recv().await {
                    Ok(report) if report.delivery_id == id => {
                        stop_if_plain_http(&target.url, &report)?;
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
            Ok(exit(&outcome))
        })
    }
}

/// The exit code for one delivery's outcome.
pub(crate) fn exit(outcome: &DispatchOutcome) -> Exit {
    match outcome {
        DispatchOutcome::Delivered { .. } => Exit::Success,
        DispatchOutcome::Refused { .. } => Exit::Usage,
        _ => Exit::Failure,
    }
}

/// Stops the delivery with a hint when an `https` URL reached a server that answered plain
/// HTTP: rustls reads the HTTP answer as a TLS record of an invalid content type. Retrying
/// cannot help, so the caller ends (exit 2) instead of making the policy's other attempts.
pub(crate) fn stop_if_plain_http(url: &str, report: &AttemptReport) -> anyhow::Result<()> {
    let plain = report
        .error
        .as_deref()
        .is_some_and(|error| error.contains("InvalidContentType"));
    if plain && url.starts_with("https://") {
        bail!(
            "{}: the server answered plain HTTP; use http:// with --insecure-localhost \
             (a TLS error on attempt {}, not retried)",
            redact_url(url),
            report.attempt
        );
    }
    Ok(())
}

/// Explains why a URL was refused before anything was sent.
pub(crate) fn refusal(url: &str, error: SubmitError) -> anyhow::Error {
    match error {
        SubmitError::ShuttingDown => anyhow!("internal error: {error}"),
        error => anyhow!("refusing to send to {}: {error}", redact_url(url)),
    }
}
