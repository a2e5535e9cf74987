//! The integration tests of `runhook-receiver` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod inbox_support;
mod support;

mod confirm;
mod conformance;
mod inbox_http;
mod inbox_retries;
mod inbox_workers;
mod limits;
mod metrics;
mod receiver;
mod recovery;
mod shutdown;
