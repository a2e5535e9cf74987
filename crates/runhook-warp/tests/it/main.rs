//! The integration tests of `runhook-warp` in one test binary, so that they link once:
//! one module per area.

mod conformance;
mod filter;
mod testing_your_handler;
