//! The integration tests of `xtask` in one test binary, so that they link once:
//! one module per area.

mod check;
mod copies;
