//! One module per subcommand.

pub(crate) mod completions;
pub(crate) mod console;
pub(crate) mod demo;
pub(crate) mod emulate;
pub(crate) mod inbox;
pub(crate) mod listen;
pub(crate) mod reconcile;
pub(crate) mod send;
pub(crate) mod trigger;
pub(crate) mod validate;
