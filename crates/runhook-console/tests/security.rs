//! Hostile event data, CSRF, the token and the security headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::post;
use common::{client, csrf, four_states, serve, state};
use runhook::inbox::{Inbox, MemoryInbox, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook_console::{Console, Inspector, InspectorLimits};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `text` percent-encoded as a path segment.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn hostile_event_data_is_rendered_as_text() {
    let inbox = Arc::new(MemoryInbox::new());
    let key = "k<script>alert(1)</script>";
    let body = serde_json::json!({
        "event": "run.failed",
        "run_id": "run-xss",
        "status": "FAILED",
        "data": {
            "goal": "<script>alert(4)</script>",
            "result": { "title": "<img src=x onerror=alert(5)>" },
            "streaming_url": "javascript:alert(6)",
            "error": { "message": "<script>alert(7)</script>", "help_url": "javascript:alert(8)" }
        }
    });
    let at = SystemTime::now() - Duration::from_secs(5);
    let entry = NewInboxEntry::new(
        IdempotencyKey::new(key),
        "<script>alert(3)</script>",
        at,
        body.to_string().into_bytes(),
    )
    .with_run_id("\"><script>alert(2)</script>");
    inbox.insert(entry, at).await.unwrap();
    let claims = inbox
        .claim_due(SystemTime::now(), Duration::from_secs(30), 10)
        .await
        .unwrap();
    let error = Settlement::Dead {
        error: "<script>alert(9)</script>".into(),
    };
    inbox
        .settle(
            &claims[0].entry.key,
            claims[0].token,
            SystemTime::now(),
            error,
        )
        .await
        .unwrap();

    let base = serve(Console::over_inbox(inbox).router()).await;
    let client = client();
    let urls = [
        format!("{base}/"),
        format!("{base}/events"),
        format!("{base}/events?state=dead"),
        format!("{base}/events/{}", segment(key)),
        format!("{base}/events?event=%3Cscript%3Ealert(10)%3C/script%3E"),
        format!("{base}/events/{}", segment("<script>alert(11)</script>")),
    ];
    let mut event_page = String::new();
    for url in &urls {
        let page = client.get(url).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("<script>alert"), "{url}: {page}");
        assert!(!page.contains("<img src=x"), "{url}: {page}");
        assert!(!page.contains("href=\"javascript"), "{url}: {page}");
        assert!(!page.contains("\"><script>alert"), "{url}: {page}");
        if url.ends_with(&segment(key)) {
            event_page = page;
        }
    }
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;script&gt;alert(4)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(5)&gt;",
        "&lt;script&gt;alert(7)&lt;/script&gt;",
        "&lt;script&gt;alert(9)&lt;/script&gt;",
        "javascript:alert(6)",
    ] {
        assert!(
            event_page.contains(escaped),
            "{escaped} missing from the event page: {event_page}"
        );
    }
    // The bulk-replay confirmation echoes the filter: escaped too.
    let events = client
        .get(format!("{base}/events?state=dead"))
        .send()
        .await
        .unwrap();
    let token = csrf(&events.text().await.unwrap());
    let confirm = client
        .post(format!("{base}/events/replay"))
        .form(&[
            ("csrf", token.as_str()),
            ("event", "<script>alert(12)</script>"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!confirm.contains("<script>alert"), "{confirm}");
    assert!(confirm.contains("&lt;script&gt;alert(12)"), "{confirm}");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let inbox = four_states().await;
    let base = serve(Console::over_inbox(inbox.clone()).router()).await;
    let client = client();
    let zeros = "0".repeat(64);
    let posts = [
        ("/events/k-dead/replay", vec![]),
        ("/events/k-dead/replay", vec![("csrf", "wrong")]),
        ("/events/k-done/purge", vec![]),
        ("/events/k-done/purge", vec![("csrf", zeros.as_str())]),
        ("/events/replay", vec![("confirmed", "1")]),
        ("/events/replay", vec![("confirmed", "1"), ("csrf", "")]),
    ];
    for (path, form) in &posts {
        let response = client
            .post(format!("{base}{path}"))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path} {form:?}");
        assert_eq!(response.headers()["content-security-policy"], CSP);
    }
    assert_eq!(state(&inbox, "k-dead").await, Some("dead"));
    assert_eq!(state(&inbox, "k-done").await, Some("done"));

    // The same post with the page's token does it (so the refusals above were the token's).
    let page = client
        .get(format!("{base}/events"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf(&page);
    let response = client
        .post(format!("{base}/events/k-dead/replay"))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(state(&inbox, "k-dead").await, Some("pending"));
}

#[tokio::test]
async fn the_token_is_required_and_the_login_sets_a_strict_cookie() {
    let inbox = four_states().await;
    let secret = "s3cret-console-token";
    let base = serve(Console::over_inbox(inbox).token(secret).router()).await;
    let client = client();

    let bare = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(bare.status(), 401);
    let browser = client
        .get(format!("{base}/events"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 401);
    let login_page = browser.text().await.unwrap();
    assert!(login_page.contains("action=\"/login\""), "{login_page}");
    assert!(login_page.contains("name=\"token\""), "{login_page}");
    let wrong = client
        .get(format!("{base}/"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stream = client
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 401);

    let with_bearer = client
        .get(format!("{base}/events"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(with_bearer.status(), 200);
    let assets = client
        .get(format!("{base}/assets/console.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(assets.status(), 200);

    let token = csrf(&login_page);
    let bad_login = client
        .post(format!("{base}/login"))
        .form(&[("token", "nope"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), 401);
    assert!(bad_login.headers().get("set-cookie").is_none());
    let no_csrf = client
        .post(format!("{base}/login"))
        .form(&[("token", secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    assert!(no_csrf.headers().get("set-cookie").is_none());

    let login = client
        .post(format!("{base}/login"))
        .form(&[("token", secret), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/");
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains(secret),
        "the cookie is not the token: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();

    let with_cookie = client
        .get(format!("{base}/events"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    assert!(
        with_cookie
            .text()
            .await
            .unwrap()
            .contains("data-key=\"k-dead\"")
    );
    let forged = client
        .get(format!("{base}/events"))
        .header("cookie", format!("runhook_console={}", "a".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

fn assert_secure(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    assert_eq!(headers["content-security-policy"], CSP, "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    let cache = headers["cache-control"].to_str().unwrap();
    if what.contains("/assets/") {
        assert!(cache.contains("max-age=31536000"), "{what}: {cache}");
    } else if !what.contains("/stream") {
        assert_eq!(cache, "no-store", "{what}");
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let inbox = four_states().await;
    let base = serve(Console::over_inbox(inbox).router()).await;
    let client = client();
    let paths = [
        "/",
        "/events",
        "/events?state=dead",
        "/events?state=nope",
        "/events?before=bad",
        "/events/k-dead",
        "/events/k-pending",
        "/events/unknown",
        "/login",
        "/nowhere",
        "/assets/console.css",
        "/assets/console.js",
    ];
    for path in paths {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_secure(&response, path);
    }
    let stream = client
        .get(format!("{base}/events/stream"))
        .send()
        .await
        .unwrap();
    assert_secure(&stream, "/events/stream");
    let refused = client
        .post(format!("{base}/events/k-dead/purge"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_secure(&refused, "POST purge");

    let inspector = Inspector::new(InspectorLimits::default());
    let receiver = Router::new()
        .route("/hook", post(|| async { "{\"outcome\":\"accepted\"}" }))
        .layer(inspector.layer());
    let receiver_base = serve(receiver.clone()).await;
    client
        .post(format!("{receiver_base}/hook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let base = serve(Console::over_inspector(inspector, receiver, "/hook").router()).await;
    for path in ["/", "/deliveries/1", "/deliveries/99", "/deliveries/x"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_secure(&response, path);
    }
}
