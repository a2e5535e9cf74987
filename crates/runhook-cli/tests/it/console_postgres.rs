//! `runhook console` over a PostgreSQL inbox, through the real binary: the rows a relay (here,
//! the library) wrote are on its pages, its replay acts on the shared inbox, and the database
//! URL's parameters appear on no page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use runhook::inbox::{Inbox, InboxState, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook_store::{PostgresConfig, PostgresInbox};

use crate::support::console::Console;
use crate::support::listen::client;
use crate::support::relay::completed;
use crate::support::{drop_schema, in_schema, postgres_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reads_and_replays_a_postgres_inbox() {
    let Some(url) = postgres_url() else { return };
    let schema = format!("runhook_console_{}", uuid::Uuid::new_v4().simple());
    let inbox =
        PostgresInbox::connect_with(&url, PostgresConfig::default().schema(schema.as_str()))
            .await
            .unwrap();
    let now = SystemTime::now();
    for run in ["pg-done", "pg-dead", "pg-waiting"] {
        let entry = NewInboxEntry::new(
            IdempotencyKey::new(run),
            "run.completed",
            now,
            completed(run).into_bytes(),
        )
        .with_run_id(run);
        inbox.insert(entry, now).await.unwrap();
    }
    let claims = inbox
        .claim_due(now, Duration::from_secs(60), 2)
        .await
        .unwrap();
    for claim in claims {
        let settlement = match claim.entry.key.as_str() {
            "pg-done" => Settlement::Done,
            _ => Settlement::Dead {
                error: "the app answered 422 Unprocessable Entity".to_owned(),
            },
        };
        inbox
            .settle(&claim.entry.key, claim.token, now, settlement)
            .await
            .unwrap();
    }

    // The console's store URL with a password (trust authentication ignores it): it appears on
    // no page and no line.
    const PASSWORD: &str = "s3cret-console-pw";
    let with_password = url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{PASSWORD}@"),
        1,
    );
    assert!(
        with_password.contains(PASSWORD),
        "{}",
        runhook::endpoint::redact_url(&url)
    );
    let console = Console::start(&in_schema(&with_password, &schema));
    let page = |path: &str| {
        let url = format!("{}{path}", console.url);
        async move {
            let response = client().get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let events = page("/events").await;
    for (run, state) in [
        ("pg-done", "done"),
        ("pg-dead", "dead"),
        ("pg-waiting", "pending"),
    ] {
        assert!(
            events.contains(&format!("data-run-id=\"{run}\" data-state=\"{state}\"")),
            "{run} {state}:\n{events}"
        );
    }
    let overview = page("/").await;
    assert!(!overview.contains("postgres://"), "{overview}");
    assert!(!events.contains(&schema), "the store URL is on the page");
    for text in [&overview, &events] {
        assert!(!text.contains(PASSWORD), "the password is on a page");
    }

    // Replay the dead row with the form's CSRF token: the shared inbox has it pending again.
    let start = events.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = &events[start..start + events[start..].find('"').unwrap()];
    let replayed = client()
        .post(format!("{}/events/pg-dead/replay", console.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert!(
        replayed.status().is_success() || replayed.status().is_redirection(),
        "{}",
        replayed.status()
    );
    let row = inbox
        .get(&IdempotencyKey::new("pg-dead"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.state, row.replays), (InboxState::Pending, 1));
    let history = page("/events/pg-dead").await;
    // Its first series stays on its page: the refused attempt.
    assert!(
        history.contains("First delivery") && history.contains("422 Unprocessable Entity"),
        "{history}"
    );
    let said = console.stderr().join("\n");
    assert!(
        said.contains("runhook: console over the inbox postgres://"),
        "{said}"
    );
    assert!(
        !said.contains(PASSWORD),
        "the password is on stderr: {said}"
    );
    drop(console);
    drop_schema(&url, &schema).await;
}
