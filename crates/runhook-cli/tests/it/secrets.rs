//! No command prints a secret held in a URL, through the real binary on 127.0.0.1: store URLs
//! (user-info in any scheme, `?password=`), `--forward-to` (user-info, `?token=`),
//! `TINYFISH_BASE_URL`, and the webhook URL of `send` and `trigger`.

use crate::support;

use std::io::Read;
use std::process::{Command, Output, Stdio};

use support::listen::{Listen, post};
use support::{Receiver, fixtures, runhook, status, stderr, stdout};

const SECRET: &str = "Sup3rSecretPW";

/// Asserts that the command's output holds no secret, and that `shown` is in it.
fn assert_redacted(output: &Output, shown: &str) {
    let text = format!("{}{}", stdout(output), stderr(output));
    assert!(!text.contains(SECRET), "the secret is printed:\n{text}");
    assert!(text.contains(shown), "{shown:?} is not printed:\n{text}");
}

/// Runs `runhook listen --addr 127.0.0.1:0 ARGS` (with `--store memory` unless given) until it
/// has answered a request, and asserts that its stderr holds no secret and holds `shown`.
fn assert_listen_prints(args: &[&str], shown: &str) {
    let mut listen = Listen::start_with(args, &[], Stdio::piped());
    let mut err = listen.child.stderr.take().unwrap();
    // Once a request is answered, every start line has been printed.
    let base = listen.url.rsplit_once("/webhooks").unwrap().0.to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answered = runtime.block_on(post(&format!("{base}/ping"), "text/plain", "x"));
    assert_eq!(answered, 404);
    listen.next_line();
    let (_, _) = listen.stop("-TERM");
    let mut text = String::new();
    err.read_to_string(&mut text).unwrap();
    assert!(!text.contains(SECRET), "the secret is printed:\n{text}");
    assert!(text.contains(shown), "{shown:?} is not printed:\n{text}");
}

#[test]
fn inbox_commands_do_not_print_store_passwords() {
    for (store, shown) in [
        (
            format!("redis://:{SECRET}@127.0.0.1:6379"),
            "redis://:***@127.0.0.1:6379",
        ),
        (
            format!("redis://127.0.0.1:6379/0?password={SECRET}"),
            "?password=***",
        ),
        (
            format!("mysql://root:{SECRET}@127.0.0.1/db"),
            "mysql://root:***@127.0.0.1/db",
        ),
    ] {
        let output = runhook(&["inbox", "list", "--store", &store], None);
        assert_eq!(output.status.code(), Some(2), "{store}");
        assert_redacted(&output, shown);
    }
}

#[test]
fn listen_does_not_print_an_unknown_schemes_password() {
    let store = format!("mysql://root:{SECRET}@127.0.0.1/db");
    let output = listen_output(&["--store", &store], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_redacted(&output, "mysql://root:***@127.0.0.1/db");
}

#[test]
fn a_password_in_the_query_of_a_postgres_url_is_not_printed() {
    // At start: the store line.
    let store = format!("postgres://postgres@127.0.0.1:5432/test?password={SECRET}");
    assert_listen_prints(
        &["--store", &store],
        "postgres://postgres@127.0.0.1:5432/test?password=***",
    );
    // In an error: a server that cannot be reached.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let store = format!("postgres://postgres@127.0.0.1:{port}/test?password={SECRET}");
    let output = listen_output(&["--store", &store], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_redacted(&output, "?password=***");
}

/// `runhook listen --addr 127.0.0.1:0 ARGS` with `env`, run to its end.
fn listen_output(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(["listen", "--addr", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn forward_to_and_the_api_base_url_do_not_print_their_secrets() {
    // Refused for its user-info: the refusal names the URL without the password.
    let target = format!("http://user:{SECRET}@127.0.0.1:9/app");
    let output = listen_output(&["--store", "memory", "--forward-to", &target], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_redacted(&output, "http://user:***@127.0.0.1:9/app");

    // TINYFISH_BASE_URL with user-info: refused, without the password.
    let base = format!("http://user:{SECRET}@127.0.0.1:9");
    let env = [
        ("TINYFISH_API_KEY", "sk-secrets"),
        ("TINYFISH_BASE_URL", base.as_str()),
    ];
    let output = listen_output(&["--store", "memory", "--confirm-with-api"], &env);
    assert_eq!(output.status.code(), Some(2));
    assert_redacted(&output, "http://user:***@127.0.0.1:9");

    // A token in the target's query: the start line shows `token=***`.
    let target = format!("http://127.0.0.1:9/app?token={SECRET}");
    assert_listen_prints(
        &["--forward-to", &target],
        "forwarding to http://127.0.0.1:9/app?token=***",
    );
}

#[test]
fn send_and_trigger_do_not_print_the_url_token() {
    let receiver = Receiver::start(vec![status(200)]);
    let url = format!("{}?token={SECRET}", receiver.url());
    let file = fixtures().join("valid/01-docs-run-completed.json");
    let shown = format!("{}?token=***", receiver.url());
    let delivered = format!("delivered to {shown} (200)");
    let repeated = format!("2 deliveries to {shown}");
    let file = file.to_str().unwrap();
    for (command, line) in [
        (vec!["send", file], &delivered),
        (vec!["trigger", "run.completed"], &delivered),
        (vec!["trigger", "run.completed", "--repeat", "2"], &repeated),
    ] {
        let mut args = command.clone();
        args.extend(["--to", &url, "--insecure-localhost"]);
        let output = runhook(&args, None);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_redacted(&output, line);
    }

    // A refused URL: named without its password.
    let refused = format!("http://user:{SECRET}@127.0.0.1:9/hook");
    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &refused,
            "--insecure-localhost",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert_redacted(&output, "http://user:***@127.0.0.1:9/hook");
}
