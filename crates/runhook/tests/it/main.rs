//! The integration tests of `runhook` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod support;

mod delivery_properties;
mod delivery_vectors;
mod drift_properties;
mod endpoint;
mod events;
mod ledger;
mod properties;
mod receive;
mod receive_drift;
mod receive_fixtures;
