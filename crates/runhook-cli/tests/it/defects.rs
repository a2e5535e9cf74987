//! Defects found by a hostile campaign, each through the real binary on 127.0.0.1:
//! - confirm by API: an answer that is not a run with the webhook's run_id (`{}`, an error
//!   object, an array, another run, no status, no run_id) gets 503 `confirm_unavailable`, never
//!   401; only a well-formed run that contradicts the webhook gets 401;
//! - confirm by API: an answer over the body limit is not read, and a run over it once wrapped in
//!   the event is not processed: both get 503;
//! - a token in the path of a wrong URL is not printed in listen's 404 line;
//! - `listen --port 9000` says to use `--addr 127.0.0.1:9000`.

use crate::support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::Arc;
use std::thread;

use serde_json::{Value, json};
use support::listen::{Listen, post};
use support::{runhook, stderr};

/// One answer of the fake runs API: a 200 with this body, with a `content-length` or ended by
/// closing the connection.
#[derive(Clone)]
struct Answer {
    body: Vec<u8>,
    length: bool,
}

fn answer(body: impl Into<Vec<u8>>) -> Answer {
    Answer {
        body: body.into(),
        length: true,
    }
}

/// A fake runs API on 127.0.0.1 (a real HTTP/1.1 server on a socket): `GET /v1/runs/{id}` is
/// answered 200 with `answers[id]` (`{}` for an id it does not list). Its base URL.
fn fake_api(answers: HashMap<&str, Answer>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers: Arc<HashMap<String, Answer>> = Arc::new(
        answers
            .into_iter()
            .map(|(id, answer)| (id.to_owned(), answer))
            .collect(),
    );
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let answers = Arc::clone(&answers);
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let id = path.rsplit('/').next().unwrap_or_default();
                let answer = answers.get(id).cloned().unwrap_or_else(|| answer("{}"));
                let mut response = String::from(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n",
                );
                if answer.length {
                    response.push_str(&format!("content-length: {}\r\n", answer.body.len()));
                }
                response.push_str("\r\n");
                let _ = stream.write_all(response.as_bytes());
                for chunk in answer.body.chunks(64 * 1024) {
                    if stream.write_all(chunk).is_err() {
                        return;
                    }
                }
            });
        }
    });
    base
}

/// `listen --json --confirm-with-api` (plus `extra`) against the API at `base`.
fn listen_confirming(base: &str, extra: &[&str]) -> Listen {
    let mut args = vec!["--json", "--confirm-with-api"];
    args.extend(extra);
    let env = [
        ("TINYFISH_API_KEY", "sk-defects"),
        ("TINYFISH_BASE_URL", base),
    ];
    Listen::start_with(&args, &env, Stdio::null())
}

/// A completed run's webhook.
fn webhook(run_id: &str) -> String {
    json!({
        "event": "run.completed", "run_id": run_id, "status": "COMPLETED",
        "data": {"result": {"title": "from the webhook"}}
    })
    .to_string()
}

/// POSTs the webhook of `run_id`: the status, and listen's line for it.
fn deliver(listen: &Listen, run_id: &str) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(post(&listen.url, "application/json", webhook(run_id)));
    (status, listen.next_json())
}

#[test]
fn an_answer_that_is_not_the_webhooks_run_gets_503_and_only_a_contradiction_gets_401() {
    let base = fake_api(HashMap::from([
        ("r-empty", answer("{}")),
        (
            "r-error",
            answer(r#"{"error":{"code":"INTERNAL_ERROR","message":"upstream down"}}"#),
        ),
        ("r-array", answer("[1,2,3]")),
        ("r-string", answer(r#""not a run""#)),
        (
            "r-other",
            answer(r#"{"run_id":"someone-else","status":"COMPLETED"}"#),
        ),
        ("r-nostatus", answer(r#"{"run_id":"r-nostatus"}"#)),
        (
            "r-forged",
            answer(r#"{"run_id":"r-forged","status":"FAILED"}"#),
        ),
        (
            "r-good",
            answer(r#"{"run_id":"r-good","status":"COMPLETED","result":{"title":"api"}}"#),
        ),
    ]));
    let listen = listen_confirming(&base, &[]);
    for run_id in [
        "r-empty",
        "r-error",
        "r-array",
        "r-string",
        "r-other",
        "r-nostatus",
    ] {
        let (status, line) = deliver(&listen, run_id);
        assert_eq!(status, 503, "{run_id}: {line}");
        assert_eq!(line["outcome"], "confirm_unavailable", "{run_id}: {line}");
    }
    let (status, line) = deliver(&listen, "r-forged");
    assert_eq!(
        (status, line["kind"].as_str()),
        (401, Some("rejected")),
        "{line}"
    );
    let (status, line) = deliver(&listen, "r-good");
    assert_eq!(
        (status, line["kind"].as_str()),
        (200, Some("accepted")),
        "{line}"
    );
}

#[test]
fn a_run_without_a_run_id_does_not_confirm() {
    let base = fake_api(HashMap::from([(
        "r-anonymous",
        answer(r#"{"status":"COMPLETED"}"#),
    )]));
    let listen = listen_confirming(&base, &[]);
    let (status, line) = deliver(&listen, "r-anonymous");
    assert_eq!(status, 503, "{line}");
    assert_eq!(line["outcome"], "confirm_unavailable", "{line}");
}

#[test]
fn an_answer_over_the_body_limit_is_not_read_and_gets_503() {
    let big = |run_id: &str, length: bool| Answer {
        body: json!({
            "run_id": run_id, "status": "COMPLETED",
            "result": {"pad": "x".repeat(3 * 1024 * 1024)}
        })
        .to_string()
        .into_bytes(),
        length,
    };
    // Under the limit as an answer (65 516 bytes), over it once wrapped in the event.
    let edge = {
        let empty = json!({"run_id": "r-edge", "status": "COMPLETED", "result": {"pad": ""}});
        let pad = 65_516 - empty.to_string().len();
        let run =
            json!({"run_id": "r-edge", "status": "COMPLETED", "result": {"pad": "x".repeat(pad)}});
        answer(run.to_string())
    };
    let base = fake_api(HashMap::from([
        ("r-edge", edge),
        ("r-big", big("r-big", true)),
        ("r-big-streamed", big("r-big-streamed", false)),
        (
            "r-small",
            answer(r#"{"run_id":"r-small","status":"COMPLETED"}"#),
        ),
    ]));
    let listen = listen_confirming(&base, &["--max-body", "65536"]);
    for run_id in ["r-big", "r-big-streamed", "r-edge"] {
        let (status, line) = deliver(&listen, run_id);
        assert_eq!(status, 503, "{run_id}: {line}");
        assert_eq!(line["outcome"], "confirm_unavailable", "{run_id}: {line}");
    }
    let (status, line) = deliver(&listen, "r-small");
    assert_eq!(status, 200, "{line}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_token_in_the_path_of_a_wrong_url_is_not_printed() {
    const TOKEN: &str = "38e7f1c2a9b04d6e8f1a2b3c4d5e6f70";
    for json in [false, true] {
        let extra: &[&str] = if json { &["--json"] } else { &[] };
        let listen = Listen::start(extra);
        let base = listen.url.strip_suffix("/webhooks/tinyfish").unwrap();
        let wrong = format!("{base}/webhooks/{TOKEN}");
        assert_eq!(post(&wrong, "application/json", webhook("r1")).await, 404);
        let line = listen.next_line();
        assert!(!line.contains(TOKEN), "{line}");
        assert!(line.contains("/webhooks/***"), "{line}");
    }
}

#[test]
fn listen_port_suggests_addr() {
    for (args, tip) in [
        (&["listen", "--port", "9000"][..], "--addr 127.0.0.1:9000"),
        (&["listen", "--port=9001"][..], "--addr 127.0.0.1:9001"),
        (&["emulate", "--port", "8787"][..], "--addr 127.0.0.1:8787"),
    ] {
        let output = runhook(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let text = stderr(&output);
        assert!(text.contains("unexpected argument '--port"), "{text}");
        assert!(text.contains(tip), "{args:?}: {text}");
    }
}
