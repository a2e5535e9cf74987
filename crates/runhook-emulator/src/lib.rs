//! # runhook-emulator
//!
//! A local stand-in for the TinyFish runs API, for developing and testing webhook receivers and
//! API clients without a TinyFish account or a browser:
//!
//! - the automation endpoints (`/v1/automation/run`, `run-async`, `run-sse`, `run-batch`) and the
//!   runs endpoints (`GET /v1/runs/{id}`, `GET /v1/runs`, cancel, batch get, batch cancel), with
//!   TinyFish's request checks, JSON shapes and error envelope;
//! - scripted agents: every run goes PENDING → RUNNING → COMPLETED, FAILED or CANCELLED with
//!   realistic steps, and an outcome chosen by a [`Scenario`] file or by directives in the goal
//!   (`[fail]`, `[duration:2s]`, `[webhook:drop=2]`, ...);
//! - one webhook per finished run, sent through [`runhook_dispatch`] with TinyFish's retry policy,
//!   with an optional fault plan (dropped, timed-out and duplicated deliveries), and every
//!   attempt recorded at `GET /_emulator/deliveries`;
//! - runs kept in memory, or in SQLite across restarts.
//!
//! ```no_run
//! use runhook_emulator::{Emulator, EmulatorConfig};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = EmulatorConfig::new(["sk-test"]).allow_http_loopback(true).speed(10.0);
//! let emulator = Emulator::start(config, listener).await?;
//! println!("emulating the TinyFish API on {}", emulator.base_url());
//! // ... point a client at emulator.base_url() with `X-API-Key: sk-test` ...
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```

mod activity;
mod api_error;
mod clock;
mod config;
mod engine;
mod error;
mod model;
mod request;
mod runs;
mod scenario;
mod server;
mod state;
mod store;
mod timefmt;
mod webhook;

pub use activity::{Activity, DeliveryRecord, RequestRecord};
pub use config::{DEFAULT_MAX_RUNS, EmulatorConfig, StoreConfig};
pub use error::{EmulatorError, ScenarioError};
#[doc(hidden)]
pub use request::{BodyKind, check_body};
pub use runhook_receiver::server::ServerLimits;
pub use scenario::Scenario;
pub use server::Emulator;
