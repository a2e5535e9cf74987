//! The integration tests of `runhook-axum` in one test binary, so that they link once:
//! one module per area.

mod conformance;
mod context;
mod extract;
mod readme;
mod testing_your_handler;
