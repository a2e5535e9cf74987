//! The relay's forwarder against an app on 127.0.0.1: its headers, and what each answer makes of
//! the row (the inbox policy's table, with 404, 405 and 501 retried as a misconfiguration, told
//! once per change), with the start of the app's answer kept in the reason.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use runhook::HandlerOutcome;
use runhook_dispatch::relay::{self, ANSWER_EXCERPT, Forwarder, TargetHealth};
use runhook_receiver::inbox::Processed;
use support::{Receiver, Reply, closed_port, event};

fn forwarder(url: &str, told: &Arc<Mutex<Vec<TargetHealth>>>) -> Forwarder {
    let policy = relay::policy(Duration::from_secs(5), Duration::from_secs(1)).unwrap();
    let told = Arc::clone(told);
    Forwarder::builder(url)
        .timeout(Duration::from_secs(5))
        .policy(policy.retry)
        .on_health_change(move |_target, change| told.lock().unwrap().push(change.clone()))
        .build()
        .unwrap()
}

fn reason(processed: &Processed) -> String {
    match processed {
        Processed::Answered { processed, .. } => reason(processed),
        Processed::Outcome(HandlerOutcome::Retry { reason })
        | Processed::Outcome(HandlerOutcome::Reject { reason })
        | Processed::RetryAfter { reason, .. } => reason.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn each_answer_settles_the_row_by_the_inbox_table() {
    let told = Arc::new(Mutex::new(Vec::new()));
    let app = Receiver::start(vec![
        Reply::status(200),
        Reply::status(400).body("unknown account"),
        Reply::status(404).body("<html>no such page</html>"),
        Reply::status(405),
        Reply::status(404),
        Reply::status(503)
            .header("retry-after", "3")
            .body(vec![b'z'; 5000]),
        Reply::status(200),
    ])
    .await;
    let forwarder = forwarder(&app.url(), &told);
    let forward = |attempt| forwarder.forward("run-2", attempt, event());

    let done = forward(1).await;
    assert_eq!(done, Processed::Outcome(HandlerOutcome::Ok).answered(200));
    let request = app.received().remove(0);
    assert_eq!(request.headers["idempotency-key"], "run-2");
    assert_eq!(request.headers["x-runhook-attempt"], "1");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body, event(), "the body is forwarded as received");

    let dead = forward(2).await;
    assert_eq!(
        dead,
        Processed::Outcome(HandlerOutcome::reject(
            "the app answered 400 Bad Request: unknown account"
        ))
        .answered(400)
    );

    for (attempt, status) in [(3, 404), (4, 405), (5, 404)] {
        let retried = forward(attempt).await;
        assert_eq!(retried.status(), Some(status));
        assert!(
            matches!(
                &retried,
                Processed::Answered { processed, .. }
                    if matches!(**processed, Processed::Outcome(HandlerOutcome::Retry { .. }))
            ),
            "{status} is retried: {retried:?}"
        );
    }
    assert_eq!(
        reason(&forward(6).await),
        format!(
            "the app answered 503 Service Unavailable (Retry-After: 3 s): {}…",
            "z".repeat(ANSWER_EXCERPT)
        )
    );
    assert!(matches!(forward(7).await.status(), Some(200)));
    assert_eq!(forwarder.misconfigured(), None);
    assert_eq!(
        *told.lock().unwrap(),
        vec![
            TargetHealth::Misconfigured { status: 404 },
            TargetHealth::Misconfigured { status: 405 },
            TargetHealth::Misconfigured { status: 404 },
            TargetHealth::Answering { status: 503 },
        ],
        "one change each, not one per row"
    );
}

#[tokio::test]
async fn no_answer_is_retried_and_named() {
    let told = Arc::new(Mutex::new(Vec::new()));
    let addr = closed_port().await;
    let forwarder = forwarder(&format!("http://{addr}/hook"), &told);
    let processed = forwarder.forward("k", 1, Bytes::from_static(b"{}")).await;
    assert_eq!(processed.status(), None);
    let Processed::Outcome(HandlerOutcome::Retry { reason }) = &processed else {
        panic!("{processed:?}");
    };
    assert!(
        reason.starts_with("cannot connect to the app: "),
        "{reason}"
    );
    assert!(told.lock().unwrap().is_empty());
}

#[test]
fn targets_follow_the_relay_rules() {
    for refused in [
        "http://app.example.com/hook",
        "https://10.0.0.5/hook",
        "https://user:pw@app.example.com/hook",
    ] {
        assert!(Forwarder::builder(refused).build().is_err(), "{refused}");
    }
    let https = Forwarder::builder("https://app.example.com/hook?token=t")
        .build()
        .unwrap();
    assert_eq!(
        https.target().without_query(),
        "https://app.example.com/hook"
    );
}
