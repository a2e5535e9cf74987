//! The integration tests of `runhook-emulator` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod support;

mod api;
mod cancel;
mod list;
mod persistence;
mod scripting;
mod sse;
mod webhooks;
