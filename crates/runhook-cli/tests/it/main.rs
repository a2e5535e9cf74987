//! The integration tests of `runhook-cli` in one test binary, so that they link once:
//! one module per area.

// Helpers shared by the modules below.
mod attack_support;
mod support;

mod attacks;
mod confirm_api;
mod demo;
mod edges;
mod emulate;
mod inbox_cli;
mod listen;
mod listen_edges;
mod relay;
mod send;
mod stores;
mod trigger;
mod validate;
