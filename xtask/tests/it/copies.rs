//! The files the crates embed are copies of `docs/` and `fixtures/`: a copy that disagrees with
//! its source is reported, and `cargo xtask sync` puts it right.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::fs;
use std::path::{Path, PathBuf};

use xtask::copies::{COPIES, check_copies};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn problems(root: &Path) -> Vec<String> {
    let mut report = xtask::Report::default();
    check_copies(root, &mut report);
    report.problems.iter().map(ToString::to_string).collect()
}

/// A scratch repository holding every source and an identical copy of each.
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (source, copy) in COPIES {
        for path in [source, copy] {
            let target = dir.path().join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::copy(repo_root().join(source), target).unwrap();
        }
    }
    dir
}

#[test]
fn the_repository_copies_equal_their_sources() {
    let found = problems(&repo_root());
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_crates_embed_the_copies_not_the_sources() {
    // A copy nothing reads would be checked for nothing: each one must be what a crate embeds.
    for (_, copy) in COPIES {
        let (krate, file) = copy
            .strip_prefix("crates/")
            .and_then(|rest| rest.split_once('/'))
            .unwrap();
        let mut sources = String::new();
        let mut stack = vec![repo_root().join("crates").join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&fs::read_to_string(path).unwrap());
                }
            }
        }
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        assert!(
            sources
                .lines()
                .any(|line| line.contains("include_str!") && line.contains(name)),
            "crates/{krate}/src does not embed {name}"
        );
    }
}

#[test]
fn a_copy_that_differs_or_is_missing_is_reported_with_the_fix() {
    let repo = scratch_repo();
    assert!(problems(repo.path()).is_empty());

    let (schema_source, schema_copy) = COPIES[0];
    let (vectors_source, vectors_copy) = COPIES[2];
    fs::write(repo.path().join(schema_copy), "{}").unwrap();
    fs::remove_file(repo.path().join(vectors_copy)).unwrap();

    let found = problems(repo.path());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with(&format!(
            "{schema_copy}#: differs from its source {schema_source}: run `cargo xtask sync` \
             (or copy {schema_source} to {schema_copy})"
        )),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with(&format!(
            "{vectors_copy}#: missing copy of {vectors_source}"
        )),
        "{found:#?}"
    );
    // `cargo xtask check` reports them too.
    let text: Vec<String> = xtask::check(repo.path())
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        text.contains(&found[0]) && text.contains(&found[1]),
        "{text:#?}"
    );

    let changed = xtask::sync(repo.path()).unwrap();
    assert_eq!(changed, vec![schema_copy, vectors_copy]);
    assert!(problems(repo.path()).is_empty());
    assert_eq!(
        fs::read(repo.path().join(vectors_copy)).unwrap(),
        fs::read(repo.path().join(vectors_source)).unwrap()
    );
    assert!(xtask::sync(repo.path()).unwrap().is_empty());
}

#[test]
fn the_binary_syncs_then_checks_clean_copies() {
    let repo = scratch_repo();
    let (_, copy) = COPIES[1];
    fs::write(repo.path().join(copy), "stale").unwrap();
    let run = |command: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([command, "--root"])
            .arg(repo.path())
            .output()
            .unwrap()
    };
    let before = run("check");
    assert_eq!(before.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&before.stderr).contains(&format!("{copy}#: differs")),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    let sync = run("sync");
    assert_eq!(sync.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&sync.stdout).contains(&format!("updated {copy}")));
    let after = run("check");
    assert!(
        !String::from_utf8_lossy(&after.stderr).contains(copy),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}
