//! The integration tests of `runhook-tinyfish` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod support;

mod endpoints;
mod retries;
mod streams;
