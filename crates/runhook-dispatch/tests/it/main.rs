//! The integration tests of `runhook-dispatch` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod support;

mod address;
mod faults;
mod panic;
mod realtime;
mod schedule;
mod shutdown;
mod status_then_body_fault;
