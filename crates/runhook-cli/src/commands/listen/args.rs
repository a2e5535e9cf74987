//! The options of `runhook listen`.

use std::net::SocketAddr;
use std::time::Duration;

use super::probability;
use crate::store::DEFAULT_STORE;

/// Arguments of `runhook listen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on; port 0 picks a free one (the first line shows it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) addr: SocketAddr,
    /// The webhook path.
    #[arg(long, value_name = "PATH", default_value = "/webhooks/tinyfish")]
    pub(crate) path: String,
    /// Print JSON Lines: `{"kind":"listening","url":...}` first, then one object per request,
    /// with kind, status, run_id, event, reason (or, for another path, kind `not_found`, path
    /// and expected).
    #[arg(long)]
    pub(crate) json: bool,
    /// Misbehave: answer every delivery with STATUS (200-599) without processing it.
    #[arg(long, value_name = "STATUS", value_parser = clap::value_parser!(u16).range(200..=599),
          conflicts_with_all = ["fail_first", "fail_rate"])]
    pub(crate) respond: Option<u16>,
    /// Misbehave: answer the first N deliveries 503 without processing them.
    #[arg(long, value_name = "N")]
    pub(crate) fail_first: Option<u64>,
    /// Misbehave: answer each delivery (after --fail-first's) 503 with probability P (0.0-1.0),
    /// drawn from --seed.
    #[arg(long, value_name = "P", value_parser = probability)]
    pub(crate) fail_rate: Option<f64>,
    /// The seed of --fail-rate's draws (default: from the clock, printed on stderr), so that a
    /// sequence of failures can be replayed.
    #[arg(long, value_name = "N", requires = "fail_rate")]
    pub(crate) seed: Option<u64>,
    /// Misbehave: the handler waits MS milliseconds before answering; the deadline still
    /// applies (past it, the delivery is answered 503 and the handler finishes late).
    #[arg(long, value_name = "MS")]
    pub(crate) delay: Option<u64>,
    /// How long a request may take before it is answered 503 (default 8000).
    #[arg(long, value_name = "N")]
    pub(crate) deadline_ms: Option<u64>,
    /// The largest body accepted, in bytes; larger ones get 413 (default 8388608).
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_body: Option<usize>,
    /// How many connections are served at once; more wait to be accepted until one closes
    /// (default 4096; keep it below `ulimit -n`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_connections: Option<u64>,
    /// How long a client may take to send a request head, and a new connection to start its
    /// first request, before the connection is closed (default 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) header_timeout_ms: Option<u64>,
    /// How long a connection may stay open with no request in progress after its first one
    /// (default 30000; HTTP/1 connections are closed sooner, by the header timeout).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout_ms: Option<u64>,
    /// On Ctrl-C or SIGTERM: how long in-flight requests may take to finish before the
    /// remaining connections are dropped (default 10000).
    #[arg(long, value_name = "N")]
    pub(crate) grace_ms: Option<u64>,
    /// Require the secret token held in this environment variable in each delivery's URL, as
    /// the query parameter `token` (give TinyFish `webhook_url=https://HOST/PATH?token=SECRET`).
    /// Several tokens, separated by commas, are accepted at once, for rotation. Missing or
    /// wrong: 401. The token is never printed.
    #[arg(long, value_name = "VAR")]
    pub(crate) token_env: Option<String>,
    /// The idempotency store: sqlite:PATH (kept across restarts), postgres://… or redis://…
    /// (shared by replicas), or memory (this process only). With --forward-to, the inbox:
    /// sqlite:PATH or postgres://… (memory: lost on exit). postgres://…?schema=NAME keeps the
    /// tables in schema NAME.
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    pub(crate) store: String,
    /// Relay: store each delivery in the inbox of --store, answer 200, then POST its body to
    /// URL (your app) with Idempotency-Key and X-Runhook-Attempt headers, retrying until the
    /// app answers 2xx (a 4xx other than 408/429 gives the row up as dead; see `runhook
    /// inbox`). Plain http only to a loopback host.
    #[arg(long, value_name = "URL", conflicts_with = "delay")]
    pub(crate) forward_to: Option<String>,
    /// Relay: how long one forward attempt may take (default 30000).
    #[arg(long, value_name = "N", requires = "forward_to",
          value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub(crate) forward_timeout_ms: Option<u64>,
    /// Relay: how many rows are forwarded at once (default 16).
    #[arg(long, value_name = "N", requires = "forward_to",
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) concurrency: Option<u64>,
    /// Relay: the first wait before a failed forward is tried again; waits double up to one
    /// hour, ± 25 % (default 1000).
    #[arg(long, value_name = "N", requires = "forward_to",
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub(crate) retry_base_ms: Option<u64>,
    /// Relay: how long a row being forwarded is held before another worker (or this relay
    /// after a crash) may take it again; renewed every third of it while the attempt runs
    /// (default 30000).
    #[arg(long, value_name = "N", requires = "forward_to",
          value_parser = clap::value_parser!(u64).range(300..=3_600_000))]
    pub(crate) lease_ms: Option<u64>,
    /// Confirm each delivery by API before processing it: GET /v1/runs/{run_id} with the key
    /// in TINYFISH_API_KEY (at TINYFISH_BASE_URL, default https://agent.tinyfish.ai). A run
    /// the API does not know, or knows in another status, gets 401; an API that cannot be
    /// reached, 503 (the sender retries). Handlers and --forward-to get the API's run.
    #[arg(long)]
    pub(crate) confirm_with_api: bool,
    /// Serve the web console on ADDR (e.g. 127.0.0.1:4040) beside the receiver: with an inbox
    /// (--forward-to), its events, their attempts, replay and purge; without, an inspector of
    /// the last deliveries (headers, body, status, outcome) with "send again". Loopback only,
    /// unless --console-token-env is given.
    #[arg(long, value_name = "ADDR")]
    pub(crate) console: Option<SocketAddr>,
    /// The environment variable holding the console's token (needed for an --console address
    /// that is not loopback): every console request then needs it.
    #[arg(long, value_name = "VAR", requires = "console")]
    pub(crate) console_token_env: Option<String>,
    /// Serve metrics in the Prometheus text format at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9464; keep it on loopback or a private network).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_addr: Option<SocketAddr>,
    /// Sweep the TinyFish runs API every DURATION (e.g. 30s, 5m) for runs that ended but whose
    /// webhook never arrived (this receiver was down for longer than TinyFish retries), and
    /// process each once, as a webhook, marked as recovered; a run still in progress is watched
    /// until it ends. The first sweep looks back 72 h. Needs TINYFISH_API_KEY (and
    /// TINYFISH_BASE_URL for another API, such as `runhook emulate`). The watermark and watch
    /// list are kept in --store; on PostgreSQL one replica sweeps at a time.
    #[arg(long, value_name = "DURATION", value_parser = crate::commands::inbox::parse_duration)]
    pub(crate) reconcile_every: Option<Duration>,
}
