//! The integration tests of `runhook-poem` in one test binary, so that they link once:
//! one module per area.

mod conformance;
mod extract;
mod testing_your_handler;
