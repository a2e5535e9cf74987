//! The CLI's manners: `send --no-validate`, https to a plain-HTTP port, `validate -`, fixture
//! wrappers, pointers printed once, a closed stdout, `--help` and `completions`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::listen::Listen;
use support::{Receiver, fixtures, json_files, runhook, status, stderr, stdout};

/// The payload inside a fixture wrapper of fixtures/invalid/.
fn payload_of(wrapper: &str) -> Vec<u8> {
    let wrapper: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("invalid").join(wrapper)).unwrap())
            .unwrap();
    serde_json::to_vec(&wrapper["payload"]).unwrap()
}

#[test]
fn no_validate_sends_an_unknown_event_or_drifted_payload_with_one_warning() {
    let unknown = br#"{"event":"run.started","run_id":"r1","status":"RUNNING","data":{}}"#.to_vec();
    for body in [unknown, payload_of("03-data-status-mismatch.json")] {
        let receiver = Receiver::start(vec![status(200)]);
        let refused = runhook(
            &["send", "--to", &receiver.url(), "--insecure-localhost"],
            Some(&body),
        );
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            stderr(&refused).contains("--no-validate"),
            "{}",
            stderr(&refused)
        );
        let output = runhook(
            &[
                "send",
                "--to",
                &receiver.url(),
                "--insecure-localhost",
                "--no-validate",
            ],
            Some(&body),
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let warning = stderr(&output);
        assert_eq!(warning.lines().count(), 1, "{warning}");
        assert!(
            warning.starts_with("runhook: warning: --no-validate: sending <stdin> as is; it has "),
            "{warning}"
        );
        assert_eq!(receiver.bodies(), vec![body], "sent byte for byte");
    }
}

#[test]
fn https_to_a_plain_http_port_stops_at_once_with_a_hint() {
    // `runhook listen` answers the TLS handshake as HTTP does: 400 in plain text.
    let listen = Listen::start(&[]);
    let url = listen.url.replace("http://", "https://");
    let file = fixtures().join("valid/01-docs-run-completed.json");
    let output = runhook(
        &[
            "send",
            file.to_str().unwrap(),
            "--to",
            &url,
            "--insecure-localhost",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("the server answered plain HTTP; use http:// with --insecure-localhost"),
        "{message}"
    );
    // It stopped at once: after the first attempt, not after the policy's retries (the report
    // names the attempt, so this holds however slowly a loaded machine runs the process).
    assert!(
        message.contains("(a TLS error on attempt 1, not retried)"),
        "{message}"
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn validate_reads_stdin_and_prints_each_pointer_once() {
    let valid = std::fs::read(fixtures().join("valid/01-docs-run-completed.json")).unwrap();
    let output = runhook(&["validate", "-"], Some(&valid));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stderr(&output).contains("1 file: 1 valid, 0 invalid"));

    let missing = br#"{"run_id":"r1","status":"COMPLETED","data":{}}"#;
    let output = runhook(&["validate", "-"], Some(missing));
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.lines()
            .any(|line| line == "<stdin>#/event: the required field `event` is missing (parse)"),
        "{text}"
    );
    for line in text.lines() {
        let (location, message) = line.split_once(": ").unwrap();
        let pointer = location.split_once('#').unwrap().1;
        if !pointer.is_empty() {
            assert!(
                !message.contains(&format!("field {pointer}")),
                "twice: {line}"
            );
        }
    }
}

#[test]
fn a_fixture_wrapper_is_named_and_its_payload_validated() {
    let wrappers = json_files("invalid");
    let mut args = vec!["validate".to_owned()];
    args.extend(wrappers.iter().map(|f| f.to_str().unwrap().to_owned()));
    let output = runhook(&args.iter().map(String::as_str).collect::<Vec<_>>(), None);
    assert_eq!(output.status.code(), Some(1));
    let (text, notes) = (stdout(&output), stderr(&output));
    for path in &wrappers {
        let name = path.to_str().unwrap();
        assert!(
            notes.contains(&format!("runhook: {name} is a fixture wrapper (why, rejected_by, payload); validating its payload")),
            "{name}: {notes}"
        );
        let wrapper: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        if let Some(pointer) = wrapper["pointer"].as_str() {
            let prefix = format!("{name}#/payload{pointer}: ");
            assert!(
                text.lines().any(|line| line.starts_with(&prefix)),
                "{prefix}"
            );
        }
    }
    assert!(
        notes.contains(&format!("0 valid, {} invalid", wrappers.len())),
        "{notes}"
    );

    // A wrapper around a valid payload is valid.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixtures().join("valid/05-run-cancelled.json")).unwrap();
    let wrapper = dir.path().join("wrapped.json");
    std::fs::write(
        &wrapper,
        format!(r#"{{"why":"ok","rejected_by":[],"payload":{good}}}"#),
    )
    .unwrap();
    let output = runhook(&["validate", wrapper.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn validate_into_a_closed_stdout_ends_quietly_with_0() {
    // Plain payloads (no wrapper notes on stderr), listed ten times: far more than a pipe holds.
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for wrapper in json_files("invalid") {
        let name = wrapper.file_name().unwrap().to_str().unwrap().to_owned();
        let path = dir.path().join(&name);
        std::fs::write(&path, payload_of(&name)).unwrap();
        files.push(path.to_str().unwrap().to_owned());
    }
    let mut args = vec!["validate".to_owned()];
    for _ in 0..10 {
        args.extend(files.iter().cloned());
    }
    // `| head -1`
    let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains('#'), "{first}");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");

    // Closed before the first line: the same.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(&args[..2])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn help_lists_every_subcommand() {
    let output = runhook(&["--help"], None);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    for command in ["send", "trigger", "listen", "validate", "completions"] {
        assert!(
            text.lines()
                .any(|line| line.trim_start().starts_with(&format!("{command} "))),
            "{command}: {text}"
        );
    }
}

#[test]
fn completions_for_bash_and_zsh_name_the_subcommands_and_flags() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef runhook")] {
        let output = runhook(&["completions", shell], None);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}");
        for word in [
            "trigger",
            "listen",
            "--fail-first",
            "--no-validate",
            "--repeat",
        ] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    for shell in ["fish", "powershell", "elvish"] {
        let output = runhook(&["completions", shell], None);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(stdout(&output).contains("trigger"), "{shell}");
    }
    assert_eq!(
        runhook(&["completions", "tcsh"], None).status.code(),
        Some(2)
    );
}
