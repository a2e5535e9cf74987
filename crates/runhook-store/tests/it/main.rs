//! The integration tests of `runhook-store` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod support;

mod conformance;
mod inbox_conformance;
mod model;
mod postgres_tls;
mod sqlite;
mod transactional;
