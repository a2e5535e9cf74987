//! Live tables: the server-sent event stream of the events table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{ago, client, four_states, insert, serve};
use runhook_console::Console;

/// Reads `response` until its text holds `needle` (10 s at most); the text read.
async fn read_until(response: &mut reqwest::Response, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 10 s; read: {seen}"))
            .unwrap()
            .expect("the stream goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_stream_sends_the_changed_rows_after_an_insert() {
    let inbox = four_states().await;
    let console = Console::over_inbox(inbox.clone())
        .stream_interval(Duration::from_millis(20))
        .router();
    let base = serve(console).await;
    let mut stream = client()
        .get(format!("{base}/events/stream?state=pending"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");

    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "data-key=\"k-pending\"").await;
    assert!(seen.starts_with("event: rows\n"), "{seen}");
    assert!(
        !seen.contains("k-dead"),
        "the stream keeps the page's filters: {seen}"
    );

    let before_insert = seen.len();
    insert(&inbox, "k-new", "k-new", "run.completed", ago(1)).await;
    read_until(&mut stream, &mut seen, "data-key=\"k-new\"").await;
    let update = &seen[before_insert..];
    assert!(update.contains("event: rows"), "{update}");
    assert!(
        update.contains("data-state=\"pending\" data-key=\"k-new\""),
        "{update}"
    );
    assert!(
        update.contains("data-key=\"k-pending\""),
        "the whole tbody: {update}"
    );
}

#[tokio::test]
async fn streams_beyond_the_bound_are_refused() {
    let console = Console::over_inbox(four_states().await)
        .stream_interval(Duration::from_millis(20))
        .max_streams(1)
        .router();
    let base = serve(console).await;
    let client = client();
    let mut first = client
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let mut seen = String::new();
    read_until(&mut first, &mut seen, "event: rows").await;
    let second = client
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 503);
    drop(first);
    // The place is freed when the first stream's connection goes: a new one is served.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let again = client
            .get(format!("{base}/events/stream"))
            .send()
            .await
            .unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
