//! `runhook demo --console` through the real binary: after its checks the demo prints the
//! console's URL and keeps it open over the demo's inbox, every path's event on it, until
//! SIGTERM. The browser saves the screenshots the docs show (the demo's paths are the best
//! sample there is).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::browser::{Browser, DESKTOP, PHONE, bounded};
use crate::support::console::{line_starting, read_lines};
use crate::support::listen::client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_its_console_open_after_the_checks() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(["demo", "--console", "--console-addr", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = read_lines(child.stdout.take().unwrap());
    let url = line_starting(&stdout, "console on ");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // Every path of the demo is an event of its inbox, processed.
    let page = client()
        .get(format!("{url}/events"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = page.matches("data-state=\"done\"").count();
    assert!(done >= 6, "{done} done rows on the demo's console:\n{page}");
    assert!(!page.contains("data-state=\"dead\""), "{page}");

    if let Some(browser) = Browser::start().await {
        bounded(Duration::from_secs(60), async {
            browser.set_size(DESKTOP).await;
            browser.goto(&format!("{url}/")).await;
            browser.wait_for("[data-count=\"done\"]").await;
            browser.screenshot("demo-overview").await;
            browser.goto(&format!("{url}/events")).await;
            browser.wait_for("tr[data-run-id]").await;
            browser.screenshot("demo-events").await;
            // Read in one script: the page's live updates may replace the row between a lookup
            // of the element and a read of its attribute (a stale element).
            let run = browser
                .execute(
                    "return document.querySelector('tr[data-run-id]').getAttribute('data-key')",
                )
                .await;
            let run = run.as_str().unwrap().to_owned();
            browser.goto(&format!("{url}/events/{run}")).await;
            browser.wait_for("[data-action=\"replay\"]").await;
            browser.screenshot("demo-event").await;
            browser.set_size(PHONE).await;
            browser.goto(&format!("{url}/events")).await;
            browser.wait_for("tr[data-run-id]").await;
            browser.screenshot("demo-events-phone").await;
            browser.goto("about:blank").await;
        })
        .await;
        browser.close().await;
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo still runs after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "the demo passed, then stopped");
}
