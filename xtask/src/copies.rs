//! Files the published crates embed, kept as copies of the repository's source files.
//!
//! A crate on crates.io can only embed files inside its own folder, so `runhook-schema` carries
//! a copy of `docs/schema/*.json` and `runhook-receiver` a copy of
//! `fixtures/vectors/receive.json`. The files under `docs/` and `fixtures/` are the source of
//! truth: edit them, then run `cargo xtask sync` to refresh the copies. `cargo xtask check`
//! reports a copy that differs from its source.

use std::fs;
use std::io;
use std::path::Path;

use crate::report::Report;

/// Each source file (the one to edit) and its copy inside a crate, relative to the root.
pub const COPIES: &[(&str, &str)] = &[
    (
        "docs/schema/webhook.schema.json",
        "crates/runhook-schema/schema/webhook.schema.json",
    ),
    (
        "docs/schema/run.schema.json",
        "crates/runhook-schema/schema/run.schema.json",
    ),
    (
        "fixtures/vectors/receive.json",
        "crates/runhook-receiver/vectors/receive.json",
    ),
];

/// Reports every copy under `root` that is missing or differs from its source.
pub fn check_copies(root: &Path, report: &mut Report) {
    for &(source, copy) in COPIES {
        let expected = match fs::read(root.join(source)) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.problem(source, "", format!("cannot read: {e}"));
                continue;
            }
        };
        let fix = format!(
            "run `cargo xtask sync` (or copy {source} to {copy}); edit {source}, not the copy"
        );
        match fs::read(root.join(copy)) {
            Ok(actual) if actual == expected => {}
            Ok(_) => report.problem(copy, "", format!("differs from its source {source}: {fix}")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                report.problem(copy, "", format!("missing copy of {source}: {fix}"))
            }
            Err(e) => report.problem(copy, "", format!("cannot read: {e}; {fix}")),
        }
    }
}

/// Copies every source under `root` over its copy, creating folders as needed. Returns the
/// copies that changed.
pub fn sync(root: &Path) -> io::Result<Vec<&'static str>> {
    let mut changed = Vec::new();
    for &(source, copy) in COPIES {
        let bytes = fs::read(root.join(source))
            .map_err(|e| io::Error::new(e.kind(), format!("{source}: {e}")))?;
        let target = root.join(copy);
        if fs::read(&target).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", parent.display())))?;
        }
        fs::write(&target, &bytes).map_err(|e| io::Error::new(e.kind(), format!("{copy}: {e}")))?;
        changed.push(copy);
    }
    Ok(changed)
}
