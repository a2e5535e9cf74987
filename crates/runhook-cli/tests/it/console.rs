//! The console in a real browser (headless Chromium through chromedriver, `support::browser`),
//! over the real `runhook` binary on 127.0.0.1: `runhook console --store …` and `runhook listen
//! --console`. A webhook's row appears and turns done without a reload; a dead row is replayed
//! by its button, and the dead rows of a filter all at once after a confirmation; an event's
//! payload is shown as text, never run; a replay without the form's CSRF field is refused; a
//! console off loopback needs a token; the inline receiver's inspector sends a delivery again.
//! Screenshots of each page go to `target/console-screenshots/`.
//!
//! Without Chromium or chromedriver the browser tests are skipped (said on stderr), or fail with
//! `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::{Browser, DESKTOP, PHONE, bounded};
use support::console::{App, Console, Listening, console_exit, rows, shown, wait_for_state};
use support::listen::client;
use support::relay::completed;

/// How long one browser test may take (it is a failure past that, not a hang).
const LIMIT: Duration = Duration::from_secs(180);

/// The events table's row for `run_id`.
fn row(run_id: &str) -> String {
    format!("tr[data-run-id=\"{run_id}\"]")
}

/// A run id of this test alone: `NAME-` and 8 hex digits.
fn run_id(name: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{name}-{}", &id[..8])
}

/// POSTs `body` to the webhook URL `url`; asserts the 200.
async fn post(url: &str, body: String) {
    let status = support::listen::post(url, "application/json", body).await;
    assert_eq!(status, 200, "the receiver answered {status}");
}

/// A fresh SQLite inbox: its folder (kept alive by the caller) and its `--store` URL.
fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("inbox.db").display());
    (dir, store)
}

/// Whether `text` holds `word` as a whole word (between non-alphanumeric characters).
fn has_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w == word)
}

/// A webhook posted to a relay shows up in the open events page and turns done when the app
/// answers, with no reload (a marker set on the page survives).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_webhook_appears_live_and_turns_done() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    bounded(LIMIT, async {
        let app = App::start(200).await;
        // The app holds the forward until the test opens the gate: the row is seen before done.
        app.gate(false);
        let (_dir, store) = sqlite();
        let relay = Listening::relay(&app.url, &store);
        browser.goto(&format!("{}/events", relay.console)).await;
        browser.execute("window.__marker = 1; return true").await;
        let run = run_id("live");
        let sent = Instant::now();
        post(relay.url(), completed(&run)).await;
        let seen = browser.wait_for(&row(&run)).await;
        let appeared = sent.elapsed();
        let state = seen.attr("data-state").await.unwrap();
        assert!(
            matches!(state.as_deref(), Some("pending" | "retrying")),
            "held by the app, the row is {state:?}"
        );
        app.gate(true);
        browser
            .wait_for_attribute(&row(&run), "data-state", "done")
            .await;
        let done = sent.elapsed();
        eprintln!("live row: in the table {appeared:?} after the POST, done after {done:?}");
        assert_eq!(
            browser.execute("return window.__marker").await,
            json!(1),
            "the page was reloaded"
        );
        // Not a measure of speed: a live update that never came would be a reload's worth.
        assert!(appeared < Duration::from_secs(10), "{appeared:?}");
        assert_eq!(app.delivered(&run), 1);
        // No page holds a live stream open while the relay stops.
        browser.goto("about:blank").await;
        relay.stop();
    })
    .await;
    browser.close().await;
}

/// A row the app refused (422) is dead; once the app is fixed, its replay button delivers it
/// and the row turns done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_row_replayed_from_its_page_turns_done() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    bounded(LIMIT, async {
        let app = App::start(422).await;
        let (_dir, store) = sqlite();
        let relay = Listening::relay(&app.url, &store);
        let run = run_id("replay");
        post(relay.url(), completed(&run)).await;
        browser
            .goto(&format!("{}/events?run_id={run}", relay.console))
            .await;
        browser
            .wait_for_attribute(&row(&run), "data-state", "dead")
            .await;
        assert_eq!((app.requests(&run), app.delivered(&run)), (1, 0));

        app.answer(200);
        browser
            .goto(&format!("{}/events/{run}", relay.console))
            .await;
        browser.screenshot("event").await;
        browser.submit("[data-action=\"replay\"]").await;
        browser
            .goto(&format!("{}/events?run_id={run}", relay.console))
            .await;
        browser
            .wait_for_attribute(&row(&run), "data-state", "done")
            .await;
        assert_eq!((app.requests(&run), app.delivered(&run)), (2, 1));
        // Its page shows both series of attempts: the refused delivery, and the replay.
        browser
            .goto(&format!("{}/events/{run}", relay.console))
            .await;
        let history = browser.wait_for("#history").await.text().await.unwrap();
        for said in ["First delivery", "422", "Replay 1", "done"] {
            assert!(
                history.contains(said),
                "no {said:?} in the history:\n{history}"
            );
        }
        browser
            .execute("document.getElementById('history').scrollIntoView(); return true")
            .await;
        browser.screenshot("event-history").await;
        // No page holds a live stream open while the relay stops.
        browser.goto("about:blank").await;
        relay.stop();
    })
    .await;
    browser.close().await;
}

/// "Replay all matching" on a filter (dead, run_id prefix) asks first, stating how many rows,
/// then replays those and only those: a dead row outside the filter stays dead, a done row in it
/// is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_all_matching_replays_the_filtered_dead_rows_after_a_confirmation() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    bounded(LIMIT, async {
        let app = App::start(422).await;
        let (_dir, store) = sqlite();
        let relay = Listening::relay(&app.url, &store);
        let prefix = format!("{}-", run_id("bulk"));
        let matching: Vec<String> = (0..5).map(|i| format!("{prefix}{i}")).collect();
        let other = run_id("other");
        for run in matching.iter().chain([&other]) {
            post(relay.url(), completed(run)).await;
        }
        let dead: Vec<String> = matching.iter().chain([&other]).cloned().collect();
        wait_for_state(&store, &dead, "dead").await;
        app.answer(200);
        let delivered = format!("{prefix}ok");
        post(relay.url(), completed(&delivered)).await;
        wait_for_state(&store, std::slice::from_ref(&delivered), "done").await;

        // The pages with dead and done rows, wide and narrow.
        browser.goto(&format!("{}/", relay.console)).await;
        browser.screenshot("overview").await;
        browser.goto(&format!("{}/events", relay.console)).await;
        browser.wait_for(&row(&other)).await;
        browser.screenshot("events").await;
        browser.set_size(PHONE).await;
        browser.screenshot("events-phone").await;
        browser.set_size(DESKTOP).await;

        browser
            .goto(&format!(
                "{}/events?state=dead&run_id={prefix}",
                relay.console
            ))
            .await;
        browser
            .wait_until(&format!(
                "return document.querySelectorAll('tr[data-run-id^=\"{prefix}\"][data-state=\"dead\"]').length === 5 \
                 && document.querySelectorAll('tr[data-run-id]').length === 5"
            ))
            .await;
        browser
            .click("form[action*=\"/events/replay\"] button, form[action*=\"/events/replay\"] [type=\"submit\"]")
            .await;
        browser.wait_for("[data-action=\"confirm-replay\"]").await;
        let asked = browser.text().await;
        assert!(has_word(&asked, "5"), "the confirmation does not state 5:\n{asked}");
        assert_eq!(
            matching.iter().map(|run| app.requests(run)).sum::<u32>(),
            5,
            "replayed before the confirmation"
        );
        browser.submit("[data-action=\"confirm-replay\"]").await;

        browser
            .goto(&format!("{}/events?run_id={prefix}", relay.console))
            .await;
        browser
            .wait_until(&format!(
                "const rows = document.querySelectorAll('tr[data-run-id^=\"{prefix}\"]'); \
                 return rows.length === 6 && [...rows].every(r => r.dataset.state === 'done')"
            ))
            .await;
        for run in &matching {
            assert_eq!((app.requests(run), app.delivered(run)), (2, 1), "{run}");
        }
        assert_eq!(app.requests(&delivered), 1, "a done row was sent again");
        assert_eq!(app.requests(&other), 1, "a row outside the filter was replayed");
        assert_eq!(shown(&store, &other)["state"], "dead");
        browser
            .goto(&format!("{}/events?state=dead", relay.console))
            .await;
        browser
            .wait_for_attribute(&row(&other), "data-state", "dead")
            .await;
        // No page holds a live stream open while the relay stops.
        browser.goto("about:blank").await;
        relay.stop();
    })
    .await;
    browser.close().await;
}

/// The script, the `onerror` image and the `javascript:` URL an event carries, shown on the
/// overview, in the table and on its page as text: nothing of it runs, no link follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_payload_is_shown_as_text_never_run() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    bounded(LIMIT, async {
        const SCRIPT: &str = "<script>window.__xss=1</script>";
        let app = App::start(200).await;
        let (_dir, store) = sqlite();
        let relay = Listening::relay(&app.url, &store);
        let run = run_id("xss");
        let event = json!({
            "event": "run.completed",
            "run_id": run,
            "status": "COMPLETED",
            "data": {
                "run_id": run,
                "status": "COMPLETED",
                "goal": SCRIPT,
                "result": {
                    "script": SCRIPT,
                    "image": "<img src=x onerror=\"window.__xss=1\">",
                    "link": "javascript:window.__xss=1",
                },
                "streaming_url": "javascript:window.__xss=1",
            },
        });
        post(relay.url(), event.to_string()).await;
        // An event type is shown in the table: a hostile one (an unknown event type is accepted
        // and kept verbatim; its key is `{run_id}:{event}`, so it has no spaces).
        const IMAGE: &str = "run.<img/src=x/onerror=window.__xss=1>";
        let named = run_id("xss-named");
        let hostile_name = json!({
            "event": IMAGE,
            "run_id": named,
            "status": "COMPLETED",
            "data": { "run_id": named, "status": "COMPLETED" },
        });
        post(relay.url(), hostile_name.to_string()).await;
        wait_for_state(&store, &[run.clone(), format!("{named}:{IMAGE}")], "done").await;
        relay.stop();

        // The standalone console over the same inbox.
        let console = Console::start(&store);
        let event_page = format!("/events/{run}");
        for (page, shown) in [
            ("/", None),
            ("/events", Some(IMAGE)),
            (event_page.as_str(), Some(SCRIPT)),
        ] {
            browser.goto(&format!("{}{page}", console.url)).await;
            // Time for an image's error, had one been made.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(
                browser.execute("return typeof window.__xss").await,
                json!("undefined"),
                "{page}: the payload ran"
            );
            assert_eq!(
                browser
                    .execute(
                        "return document.querySelectorAll('a[href^=\"javascript:\" i], \
                         [src^=\"javascript:\" i], img[onerror]').length"
                    )
                    .await,
                json!(0),
                "{page}: a link or image made of the payload"
            );
            if let Some(shown) = shown {
                let text = browser.text().await;
                assert!(
                    text.contains(shown),
                    "{page} does not show {shown} as text:\n{text}"
                );
            }
        }
    })
    .await;
    browser.close().await;
}

/// A replay POST without the form's CSRF field (or with a wrong one) is refused with 403 and
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_without_the_csrf_field_is_refused() {
    let app = App::start(422).await;
    let (_dir, store) = sqlite();
    let relay = Listening::relay(&app.url, &store);
    let run = run_id("csrf");
    post(relay.url(), completed(&run)).await;
    wait_for_state(&store, std::slice::from_ref(&run), "dead").await;
    relay.stop();
    let before = shown(&store, &run);

    let console = Console::start(&store);
    for body in ["confirm=1", "csrf=not-the-token"] {
        let response = client()
            .post(format!("{}/events/{run}/replay", console.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{body}");
    }
    assert_eq!(shown(&store, &run), before, "the row changed");
    assert_eq!(rows(&store, "pending"), Vec::<Value>::new());
    assert_eq!(app.requests(&run), 1);
}

/// Off loopback the console needs `--console-token-env` (exit 2 before binding without it);
/// with it, a request without the token is refused (401), one with `Authorization: Bearer`
/// served. Only 127.0.0.1 is ever connected to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_off_loopback_needs_a_token() {
    let (dir, store) = sqlite();
    // `runhook console` reads an inbox that exists.
    runhook_store::SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .unwrap();
    let (code, stderr) = console_exit(&["--store", &store, "--addr", "0.0.0.0:0"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--console-token-env"), "{stderr}");

    let token = uuid::Uuid::new_v4().simple().to_string();
    let console = Console::spawn(
        &[
            "--store",
            &store,
            "--addr",
            "0.0.0.0:0",
            "--console-token-env",
            "RUNHOOK_TEST_CONSOLE_TOKEN",
        ],
        &[("RUNHOOK_TEST_CONSOLE_TOKEN", &token)],
    );
    let port = console.url.rsplit(':').next().unwrap().to_owned();
    let url = format!("http://127.0.0.1:{port}/");
    let get = |authorization: Option<String>| {
        let mut request = client().get(&url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 401);
    assert_eq!(get(Some("Bearer wrong".to_owned())).await, 401);
    assert_eq!(get(Some(format!("Bearer {token}"))).await, 200);
    let said = console.stderr().join("\n");
    assert!(!said.contains(&token), "the token was printed: {said}");
    assert!(!console.url.contains(&token));
}

/// Without a relay, the console inspects the last deliveries: a webhook's row with its status
/// and outcome; "send again" from its page makes a second delivery, a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_shows_a_delivery_and_sends_it_again() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    bounded(LIMIT, async {
        let receiver = Listening::start(&[]);
        let run = run_id("inline");
        post(receiver.url(), completed(&run)).await;
        browser.goto(&format!("{}/", receiver.console)).await;
        let delivery = browser.wait_for("tr[data-delivery-id]").await;
        let id = delivery.attr("data-delivery-id").await.unwrap().unwrap();
        let first = format!("tr[data-delivery-id=\"{id}\"]");
        browser
            .wait_for_attribute(&first, "data-status", "200")
            .await;
        browser
            .wait_for_attribute(&first, "data-outcome", "accepted")
            .await;

        browser
            .goto(&format!("{}/deliveries/{id}", receiver.console))
            .await;
        browser.submit("[data-action=\"resend\"]").await;
        browser.goto(&format!("{}/", receiver.console)).await;
        browser
            .wait_until(&format!(
                "const rows = [...document.querySelectorAll('tr[data-delivery-id]')]; \
                 return rows.length === 2 && rows.some(r => r.dataset.deliveryId !== '{id}' \
                 && r.dataset.outcome === 'duplicate' && r.dataset.status === '200')"
            ))
            .await;
        browser.screenshot("inspector").await;
        browser.goto("about:blank").await;
        receiver.stop();
    })
    .await;
    browser.close().await;
}
