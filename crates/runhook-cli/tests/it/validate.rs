//! `runhook validate` over the shared fixtures.

use crate::support;

use serde_json::Value;
use support::{fixtures, json_files, runhook, stderr, stdout};

#[test]
fn every_valid_fixture_passes() {
    let files = json_files("valid");
    assert!(files.len() >= 25);
    let mut args = vec!["validate".to_owned()];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_owned()));
    let output = runhook(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "");
    assert!(stderr(&output).contains(&format!(
        "{} files: {} valid, 0 invalid",
        files.len(),
        files.len()
    )));
}

#[test]
fn every_invalid_fixture_fails_at_its_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for wrapper_path in json_files("invalid") {
        let wrapper: Value =
            serde_json::from_slice(&std::fs::read(&wrapper_path).unwrap()).unwrap();
        let payload_path = dir.path().join(wrapper_path.file_name().unwrap());
        std::fs::write(
            &payload_path,
            serde_json::to_vec_pretty(&wrapper["payload"]).unwrap(),
        )
        .unwrap();
        cases.push((payload_path, wrapper));
    }
    assert!(cases.len() >= 66);
    let mut args = vec!["validate".to_owned()];
    args.extend(
        cases
            .iter()
            .map(|(path, _)| path.to_str().unwrap().to_owned()),
    );
    let output = runhook(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    for (path, wrapper) in &cases {
        let name = path.to_str().unwrap();
        let lines: Vec<_> = text
            .lines()
            .filter(|line| line.starts_with(&format!("{name}#")))
            .collect();
        assert!(!lines.is_empty(), "{name} was not reported");
        let rejected_by: Vec<&str> = wrapper["rejected_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|check| check.as_str().unwrap())
            .collect();
        for check in &rejected_by {
            assert!(
                lines
                    .iter()
                    .any(|line| line.ends_with(&format!("({check})"))),
                "{name}: no {check} problem in {lines:?}"
            );
        }
        if let Some(pointer) = wrapper["pointer"].as_str() {
            let runtime = lines
                .iter()
                .find(|line| line.ends_with("(parse)") || line.ends_with("(consistency)"))
                .unwrap_or_else(|| panic!("{name}: {lines:?}"));
            assert!(
                runtime.starts_with(&format!("{name}#{pointer}: ")),
                "{name}: expected pointer {pointer:?} in {runtime:?}"
            );
        }
    }
    let summary = stderr(&output);
    assert!(
        summary.contains(&format!("0 valid, {} invalid", cases.len())),
        "{summary}"
    );
}

#[test]
fn an_unreadable_file_exits_2_even_beside_valid_ones() {
    let valid = fixtures().join("valid/01-docs-run-completed.json");
    let output = runhook(
        &[
            "validate",
            valid.to_str().unwrap(),
            "/nonexistent/file.json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read /nonexistent/file.json"));
}

#[test]
fn validate_needs_a_file() {
    assert_eq!(runhook(&["validate"], None).status.code(), Some(2));
}
