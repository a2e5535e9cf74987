//! Every console page over a large inbox: each page of the console, rendered through its router
//! (no socket: the page's own cost), over an inbox of 1 000 events (the baseline) and of 100 000,
//! on SQLite and on PostgreSQL. A page that reads only from indexes costs about the same over
//! both: the ratio of the 100 000 case to the 1 000 case should stay near 1, and every page
//! should answer in well under 200 ms.
//!
//! The inboxes hold a realistic mix: received over the last two hours, 90 % done, 5 % dead, 4 %
//! retrying and 1 % pending.
//!
//! Needs PostgreSQL (`RUNHOOK_TEST_POSTGRES_URL`, default
//! postgres://postgres@127.0.0.1:5432/test); without it those cases are skipped loudly.
//!
//! Run: `cargo bench -p runhook-console --bench pages`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, StatusCode};
use runhook::inbox::{Inbox, Inserted, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook_console::Console;
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};
use tower::ServiceExt;

const SIZES: [u64; 2] = [1_000, 100_000];
const FILLERS: u64 = 32;
const EVENTS: [(&str, &str); 3] = [
    ("run.completed", "COMPLETED"),
    ("run.failed", "FAILED"),
    ("run.cancelled", "CANCELLED"),
];

fn key(i: u64) -> String {
    format!("run-{i:06}")
}

fn record(i: u64, at: SystemTime) -> NewInboxEntry {
    let (event, status) = EVENTS[(i % 3) as usize];
    let id = key(i);
    let body = format!(
        r#"{{"event":"{event}","run_id":"{id}","status":"{status}","data":{{"run_id":"{id}","status":"{status}","goal":"Find the price of the product","result":{{"product":"Widget","price":"$19.99"}},"error":null,"steps":[]}}}}"#
    );
    NewInboxEntry::new(
        IdempotencyKey::new(id.as_str()),
        event,
        at,
        body.into_bytes(),
    )
    .with_run_id(id)
}

/// Inserts the rows `from..to`, from 32 tasks.
async fn insert(inbox: &Arc<dyn Inbox>, from: u64, to: u64, at: impl Fn(u64) -> SystemTime) {
    let tasks: Vec<_> = (0..FILLERS)
        .map(|task| {
            let inbox = Arc::clone(inbox);
            let times: Vec<(u64, SystemTime)> = (from + task..to)
                .step_by(FILLERS as usize)
                .map(|i| (i, at(i)))
                .collect();
            tokio::spawn(async move {
                for (i, at) in times {
                    let inserted = inbox.insert(record(i, at), at).await.unwrap();
                    assert_eq!(inserted, Inserted::New);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// Settles a claimed row: 1 in 20 dead, 1 in 20 to be retried in an hour, the rest done.
async fn settle(inbox: Arc<dyn Inbox>, claim: runhook::inbox::InboxClaim, now: SystemTime) {
    let entry = &claim.entry;
    let i: u64 = entry.key.as_str()[4..].parse().unwrap();
    let finished = entry.received_at + Duration::from_secs(2);
    let settlement = match i % 20 {
        0 => Settlement::Dead {
            error: "the app answered 422 Unprocessable Entity".to_owned(),
        },
        1 => Settlement::Retry {
            at: now + Duration::from_secs(3_600),
            error: "the app answered 503 Service Unavailable".to_owned(),
        },
        _ => Settlement::Done,
    };
    inbox
        .settle(&entry.key, claim.token, finished, settlement)
        .await
        .unwrap();
}

/// Fills `inbox` with `size` events received over the two hours before `now`, then settles
/// them: 90 % done, 5 % dead, 4 % retrying (due in an hour), and 1 % left pending (inserted
/// last, never claimed).
async fn fill(inbox: Arc<dyn Inbox>, size: u64, now: SystemTime) {
    let settled = size - size / 100;
    let spread = 7_200_000 / size.max(1);
    let at = move |i: u64| now - Duration::from_secs(7_200) + Duration::from_millis(i * spread);
    insert(&inbox, 0, settled, at).await;
    loop {
        let claims = inbox
            .claim_due(now, Duration::from_secs(600), 500)
            .await
            .unwrap();
        if claims.is_empty() {
            break;
        }
        let tasks: Vec<_> = claims
            .into_iter()
            .map(|claim| tokio::spawn(settle(Arc::clone(&inbox), claim, now)))
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    insert(&inbox, settled, size, at).await;
}

/// Reads `uri` from `router`: its body, after checking the status is 200.
async fn get(router: &axum::Router, uri: &str) -> String {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The link to the second page of the events table, from the first page's HTML.
async fn second_page(router: &axum::Router) -> String {
    let html = get(router, "/events").await;
    let start = html.find("/events?before=").expect("an Older link");
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

fn pages(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    backend: &str,
    inbox: Arc<dyn Inbox>,
    size: u64,
) {
    let router = Console::over_inbox(inbox).router();
    let middle = key(size / 2);
    let older = runtime.block_on(second_page(&router));
    let cases = [
        ("overview", "/".to_owned()),
        ("events", "/events".to_owned()),
        ("events_older_page", older),
        ("events_dead", "/events?state=dead".to_owned()),
        ("events_retrying", "/events?state=retrying".to_owned()),
        ("events_failed_type", "/events?event=run.failed".to_owned()),
        (
            "events_run_id_prefix",
            format!("/events?run_id={}", &middle[..8]),
        ),
        ("event_page", format!("/events/{middle}")),
    ];
    let mut group = c.benchmark_group(format!("console_pages_{backend}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    for (name, uri) in &cases {
        group.bench_function(format!("{name}/{size}"), |b| {
            b.to_async(runtime).iter(|| get(&router, uri));
        });
    }
    group.finish();
}

fn console(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = SystemTime::now();
    let dir = tempfile::tempdir().unwrap();
    for size in SIZES {
        let file = dir.path().join(format!("inbox-{size}.db"));
        let inbox: Arc<dyn Inbox> = Arc::new(runtime.block_on(SqliteInbox::open(file)).unwrap());
        runtime.block_on(fill(Arc::clone(&inbox), size, now));
        pages(c, &runtime, "sqlite", inbox, size);
    }

    let url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("runhook_bench_console_{}", std::process::id());
    for size in SIZES {
        let config = PostgresConfig::default()
            .schema(schema.as_str())
            .inbox_table(format!("inbox_{size}"));
        let inbox = match runtime.block_on(PostgresInbox::connect_with(&url, config)) {
            Ok(inbox) => Arc::new(inbox) as Arc<dyn Inbox>,
            Err(error) => {
                eprintln!(
                    "SKIPPED: the PostgreSQL console pages: no PostgreSQL at {url} ({error})"
                );
                return;
            }
        };
        runtime.block_on(fill(Arc::clone(&inbox), size, now));
        runtime.block_on(analyze(&url, &schema));
        pages(c, &runtime, "postgres", inbox, size);
    }
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .unwrap();
    });
}

/// Refreshes the planner's statistics after the bulk load, as autovacuum would soon after.
async fn analyze(url: &str, schema: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let tables = client
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1",
            &[&schema],
        )
        .await
        .unwrap();
    for row in tables {
        let table: String = row.get(0);
        client
            .batch_execute(&format!("ANALYZE {schema}.\"{table}\""))
            .await
            .unwrap();
    }
}

criterion_group!(benches, console);
criterion_main!(benches);
