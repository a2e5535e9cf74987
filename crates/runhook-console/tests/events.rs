//! The inbox console: overview, events table, pages, event page, replay and purge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{ago, client, csrf, four_states, insert, serve, settle_all, state};
use runhook::inbox::{Inbox, MemoryInbox, Settlement};
use runhook::store::IdempotencyKey;
use runhook_console::Console;

async fn get(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The `data-key`s of the table rows of `page`, in order.
fn keys(page: &str) -> Vec<String> {
    page.split("data-key=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The "Older" link of `page`, if any.
fn older(page: &str) -> Option<String> {
    let end = page.find("\" rel=\"next\"")?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    Some(page[start..end].replace("&amp;", "&"))
}

#[tokio::test]
async fn every_row_says_its_state_and_only_finished_rows_offer_replay() {
    let base = serve(Console::over_inbox(four_states().await).router()).await;
    let (status, page) = get(&format!("{base}/events")).await;
    assert_eq!(status, 200);
    for state in ["pending", "retrying", "done", "dead"] {
        let row =
            format!("data-run-id=\"k-{state}\" data-state=\"{state}\" data-key=\"k-{state}\"");
        assert!(page.contains(&row), "{row} missing: {page}");
    }
    assert_eq!(page.matches("data-action=\"replay\"").count(), 2, "{page}");
    assert_eq!(
        keys(&page),
        ["k-pending", "k-dead", "k-done", "k-retrying"],
        "newest first"
    );
    for label in ["for=\"f-state\"", "for=\"f-event\"", "for=\"f-run\""] {
        assert!(page.contains(label), "{label}");
    }

    let (_, dead) = get(&format!("{base}/events?state=dead")).await;
    assert_eq!(keys(&dead), ["k-dead"]);
    assert!(dead.contains("Replay all matching"), "{dead}");
    let (_, prefix) = get(&format!("{base}/events?run_id=k-d")).await;
    assert_eq!(keys(&prefix), ["k-dead", "k-done"]);
    let (status, bad) = get(&format!("{base}/events?state=sleeping")).await;
    assert_eq!(status, 400);
    assert!(bad.contains("sleeping"), "{bad}");

    let (_, overview) = get(&format!("{base}/")).await;
    for state in ["pending", "retrying", "done", "dead"] {
        let count = format!("data-count=\"{state}\"><strong>1</strong>");
        assert!(overview.contains(&count), "{count}: {overview}");
    }
    assert!(
        overview.contains("<title id=\"chart-title\">"),
        "{overview}"
    );
    assert!(
        overview.contains("4 received, 1 processed, 1 dead"),
        "{overview}"
    );
}

#[tokio::test]
async fn the_cursor_pages_through_every_row_once() {
    let inbox = Arc::new(MemoryInbox::new());
    let start = SystemTime::now() - Duration::from_secs(3_600);
    for i in 0..120u64 {
        // Three rows share each instant: the key breaks the tie.
        let at = start + Duration::from_millis(i / 3 * 1_000 + 1) + Duration::from_nanos(7);
        insert(
            &inbox,
            &format!("row-{i:03}"),
            &format!("run-{i}"),
            "run.completed",
            at,
        )
        .await;
    }
    let base = serve(Console::over_inbox(inbox).router()).await;
    let mut url = format!("{base}/events");
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let (status, page) = get(&url).await;
        assert_eq!(status, 200, "{url}");
        let rows = keys(&page);
        pages.push(rows.len());
        seen.extend(rows);
        match older(&page) {
            Some(next) => url = format!("{base}{next}"),
            None => break,
        }
        assert!(pages.len() < 10, "the pages never end");
    }
    assert_eq!(pages, [50, 50, 20]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 120, "no row twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first across pages");

    let (status, page) = get(&format!("{base}/events?before=not-a-cursor")).await;
    assert_eq!(status, 400);
    assert!(page.contains("cursor"), "{page}");
    let (status, _) = get(&format!("{base}/events?before=1.zz")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn replay_all_matching_confirms_the_count_then_replays_exactly_those() {
    let inbox = Arc::new(MemoryInbox::new());
    let rows = [
        ("a-1", "run.failed"),
        ("a-2", "run.failed"),
        ("a-3", "run.failed"),
        ("b-1", "run.failed"),
        ("b-2", "run.failed"),
        ("a-4", "run.completed"),
    ];
    for (i, (key, event)) in rows.iter().enumerate() {
        insert(&inbox, key, key, event, ago(100 - i as u64)).await;
    }
    let dead = Settlement::Dead {
        error: "rejected".into(),
    };
    let settle: Vec<(&str, Settlement)> =
        rows.iter().map(|(key, _)| (*key, dead.clone())).collect();
    settle_all(&inbox, &settle).await;
    insert(&inbox, "a-5", "a-5", "run.failed", ago(1)).await; // pending: never replayed

    let base = serve(Console::over_inbox(inbox.clone()).router()).await;
    let client = client();
    let (_, page) = get(&format!(
        "{base}/events?state=dead&event=run.failed&run_id=a-"
    ))
    .await;
    let token = csrf(&page);
    let filter = [
        ("csrf", token.as_str()),
        ("event", "run.failed"),
        ("run_id", "a-"),
    ];
    let confirm = client
        .post(format!("{base}/events/replay"))
        .form(&filter)
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(
        confirm.contains("<strong id=\"replay-count\">3</strong>"),
        "{confirm}"
    );
    assert!(
        confirm.contains("data-action=\"confirm-replay\""),
        "{confirm}"
    );
    for key in ["a-1", "a-2", "a-3", "b-1", "a-4"] {
        assert_eq!(
            state(&inbox, key).await,
            Some("dead"),
            "the confirmation changes nothing"
        );
    }

    let mut confirmed = filter.to_vec();
    confirmed.push(("confirmed", "1"));
    let done = client
        .post(format!("{base}/events/replay"))
        .form(&confirmed)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("done=bulk&n=3"), "{location}");
    for key in ["a-1", "a-2", "a-3", "a-5"] {
        assert_eq!(state(&inbox, key).await, Some("pending"), "{key}");
    }
    for key in ["b-1", "b-2", "a-4"] {
        assert_eq!(state(&inbox, key).await, Some("dead"), "{key}");
    }
    let (_, after) = get(&format!("{base}{location}")).await;
    assert!(
        after.contains("3 dead events were made pending again."),
        "{after}"
    );
    assert!(keys(&after).is_empty(), "{after}");
}

#[tokio::test]
async fn replay_purge_and_the_event_page() {
    let inbox = four_states().await;
    let base = serve(Console::over_inbox(inbox.clone()).router()).await;
    let client = client();

    let (status, done_page) = get(&format!("{base}/events/k-done")).await;
    assert_eq!(status, 200);
    assert!(done_page.contains("First delivery"), "{done_page}");
    assert!(done_page.contains("data-action=\"purge\""), "{done_page}");
    assert!(
        done_page.contains("<dt>Goal</dt><dd>goal</dd>"),
        "{done_page}"
    );
    let (_, retrying) = get(&format!("{base}/events/k-retrying")).await;
    assert!(retrying.contains("app answered 500"), "{retrying}");
    assert!(!retrying.contains("data-action=\"purge\""), "{retrying}");
    let (status, _) = get(&format!("{base}/events/no-such-key")).await;
    assert_eq!(status, 404);

    let token = csrf(&done_page);
    let replay = client
        .post(format!("{base}/events/k-done/replay"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    assert_eq!(replay.headers()["location"], "/events/k-done?done=replayed");
    let entry = inbox
        .get(&IdempotencyKey::new("k-done"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.row_state().as_str(), "pending");
    assert_eq!(entry.replays, 1);

    let refused = client
        .post(format!("{base}/events/k-pending/purge"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 303);
    assert!(
        refused.headers()["location"]
            .to_str()
            .unwrap()
            .contains("not-purged")
    );
    assert_eq!(state(&inbox, "k-pending").await, Some("pending"));

    let purged = client
        .post(format!("{base}/events/k-dead/purge"))
        .form(&[("csrf", token.as_str()), ("back", "state=dead")])
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status(), 303);
    assert_eq!(
        purged.headers()["location"],
        "/events?state=dead&done=purged"
    );
    assert_eq!(state(&inbox, "k-dead").await, None);
    let (status, _) = get(&format!("{base}/events/k-dead")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_nested_console_prefixes_its_links() {
    let inbox = four_states().await;
    let console = Console::over_inbox(inbox)
        .mounted_at("/console/")
        .page_size(2)
        .router();
    let base = serve(axum::Router::new().nest("/console", console)).await;
    let (status, page) = get(&format!("{base}/console/events")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("href=\"/console/assets/console.css?v="),
        "{page}"
    );
    assert!(
        page.contains("action=\"/console/events/k-dead/replay\""),
        "{page}"
    );
    assert!(
        page.contains("data-stream=\"/console/events/stream\""),
        "{page}"
    );
    assert_eq!(keys(&page).len(), 2);
    let next = older(&page).unwrap();
    assert!(next.starts_with("/console/events?before="), "{next}");
    let (status, _) = get(&format!("{base}{next}")).await;
    assert_eq!(status, 200);
    let (status, css) = get(&format!("{base}/console/assets/console.css")).await;
    assert_eq!(status, 200);
    assert!(css.contains("prefers-color-scheme"));
    let (status, _) = get(&format!("{base}/console")).await;
    assert_eq!(status, 200);
}
