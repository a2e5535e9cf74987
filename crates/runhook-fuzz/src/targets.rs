//! The list of fuzz targets.

/// The body of a fuzz target: it panics when an invariant breaks.
pub type Body = fn(&[u8]);

/// Every fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs`, the folders
/// `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/`) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("event", crate::event),
    ("receive", crate::receive),
    ("retry_after", crate::retry_after),
    ("webhook_url", crate::webhook_url),
    ("url_token", crate::url_token),
    ("sse", crate::sse),
    ("emulator_request", crate::emulator_request),
];

/// Runs the body of the target `name` on `data`; `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(target, _)| *target == name) {
        Some((_, body)) => {
            body(data);
            true
        }
        None => false,
    }
}
