//! The inspector: recording through the layer, its bounds, the pages, "send again".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use common::{client, csrf, serve};
use runhook_console::{Console, Inspector, InspectorLimits};

/// A receiver stub at `/hook`, wrapped with the inspector's layer: it reads the whole body and
/// answers as a runhook receiver does; a body holding `reject` is refused. Counts its calls.
fn receiver(inspector: &Inspector, calls: Arc<AtomicUsize>) -> Router {
    let handler = move |body: Bytes| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let reason = format!("read {} bytes", body.len());
            if body.windows(6).any(|w| w == b"reject") {
                let json = serde_json::json!({ "outcome": "invalid", "reason": reason });
                (StatusCode::BAD_REQUEST, json.to_string())
            } else {
                let json = serde_json::json!({ "outcome": "accepted", "reason": reason });
                (StatusCode::OK, json.to_string())
            }
        }
    };
    Router::new()
        .route("/hook", post(handler))
        .layer(inspector.layer())
}

struct Setup {
    inspector: Inspector,
    receiver: String,
    console: String,
    calls: Arc<AtomicUsize>,
}

async fn setup(limits: InspectorLimits) -> Setup {
    let inspector = Inspector::new(limits);
    let calls = Arc::new(AtomicUsize::new(0));
    let router = receiver(&inspector, calls.clone());
    let receiver = serve(router.clone()).await;
    let console = serve(Console::over_inspector(inspector.clone(), router, "/hook").router()).await;
    Setup {
        inspector,
        receiver,
        console,
        calls,
    }
}

async fn deliver(setup: &Setup, body: impl Into<reqwest::Body>) -> (u16, String) {
    let response = client()
        .post(format!("{}/hook", setup.receiver))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn page(url: String) -> (u16, String) {
    let response = client().get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_oldest_deliveries_go_past_the_count_bound() {
    let setup = setup(InspectorLimits {
        max_deliveries: 3,
        ..InspectorLimits::default()
    })
    .await;
    for i in 1..=5 {
        let (status, answer) = deliver(&setup, format!("{{\"n\":{i}}}")).await;
        assert_eq!(status, 200);
        assert!(
            answer.contains("\"accepted\""),
            "the answer passes through: {answer}"
        );
    }
    let (_, bad) = deliver(&setup, "reject me").await;
    assert!(bad.contains("invalid"), "{bad}");
    let ids: Vec<u64> = setup.inspector.deliveries().iter().map(|d| d.id).collect();
    assert_eq!(ids, [6, 5, 4]);

    let (status, list) = page(format!("{}/", setup.console)).await;
    assert_eq!(status, 200);
    assert_eq!(list.matches("data-delivery-id=").count(), 3, "{list}");
    assert!(
        list.contains("data-delivery-id=\"6\" data-status=\"400\" data-outcome=\"invalid\""),
        "{list}"
    );
    assert!(
        list.contains("data-delivery-id=\"5\" data-status=\"200\" data-outcome=\"accepted\""),
        "{list}"
    );
    assert!(
        list.contains("data-stream=\"/deliveries/stream\""),
        "{list}"
    );
    let (status, _) = page(format!("{}/deliveries/1", setup.console)).await;
    assert_eq!(status, 404, "evicted");
}

#[tokio::test]
async fn the_oldest_deliveries_go_past_the_byte_bound_and_a_long_body_is_truncated() {
    let setup = setup(InspectorLimits {
        max_deliveries: 100,
        max_body_bytes: 100,
    })
    .await;
    for _ in 0..3 {
        deliver(&setup, "x".repeat(40)).await;
    }
    let kept = setup.inspector.deliveries();
    assert_eq!(kept.iter().map(|d| d.id).collect::<Vec<_>>(), [3, 2]);
    assert!(
        kept.iter()
            .all(|d| !d.truncated && d.body_complete && d.body.len() == 40)
    );

    let (status, answer) = deliver(&setup, "y".repeat(250)).await;
    assert_eq!(status, 200);
    assert!(
        answer.contains("read 250 bytes"),
        "the receiver read it all: {answer}"
    );
    let kept = setup.inspector.deliveries();
    assert_eq!(kept.len(), 1, "only the truncated body is left: 100 bytes");
    let long = &kept[0];
    assert!(long.truncated);
    assert_eq!((long.body.len(), long.body_len), (100, 250));
    assert_eq!(long.outcome.as_deref(), Some("accepted"));
    assert_eq!(long.reason.as_deref(), Some("read 250 bytes"));

    let (_, detail) = page(format!("{}/deliveries/{}", setup.console, long.id)).await;
    assert!(
        detail.contains("truncated: 100 of 250 bytes kept"),
        "{detail}"
    );
    assert!(
        detail.contains("data-action=\"resend\" disabled"),
        "{detail}"
    );
    let token = csrf(&detail);
    let refused = client()
        .post(format!("{}/deliveries/{}/resend", setup.console, long.id))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 303);
    assert_eq!(setup.calls.load(Ordering::SeqCst), 4, "not sent again");
}

#[tokio::test]
async fn secrets_in_headers_and_query_are_redacted() {
    let setup = setup(InspectorLimits::default()).await;
    client()
        .post(format!(
            "{}/hook?token=secret5&x=visible-query",
            setup.receiver
        ))
        .header("authorization", "Bearer secret1")
        .header("x-webhook-signature", "secret2")
        .header("cookie", "session=secret3")
        .header("x-api-key", "secret4")
        .header("x-client-password", "secret6")
        .header("x-trace", "visible-header")
        .body("{}")
        .send()
        .await
        .unwrap();
    let (_, list) = page(format!("{}/", setup.console)).await;
    let (_, detail) = page(format!("{}/deliveries/1", setup.console)).await;
    for text in [&list, &detail] {
        for secret in [
            "secret1", "secret2", "secret3", "secret4", "secret5", "secret6",
        ] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(text.contains("visible-query"), "{text}");
    }
    assert_eq!(detail.matches("[redacted]").count(), 5, "{detail}");
    assert!(detail.contains("visible-header"), "{detail}");
    // The inspector itself keeps them (for the resend).
    let kept = &setup.inspector.deliveries()[0];
    assert_eq!(kept.headers["authorization"], "Bearer secret1");
}

#[tokio::test]
async fn send_again_records_a_second_delivery() {
    let setup = setup(InspectorLimits::default()).await;
    let url = format!("{}/hook?token=t1", setup.receiver);
    client()
        .post(url)
        .header("x-trace", "abc")
        .body("{\"first\":true}")
        .send()
        .await
        .unwrap();
    let (_, detail) = page(format!("{}/deliveries/1", setup.console)).await;
    assert!(detail.contains("data-action=\"resend\">"), "{detail}");
    let token = csrf(&detail);

    let forged = client()
        .post(format!("{}/deliveries/1/resend", setup.console))
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(setup.calls.load(Ordering::SeqCst), 1);

    let resent = client()
        .post(format!("{}/deliveries/1/resend", setup.console))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resent.status(), 303);
    assert_eq!(resent.headers()["location"], "/deliveries/2?done=resent");
    assert_eq!(setup.calls.load(Ordering::SeqCst), 2);
    let kept = setup.inspector.deliveries();
    assert_eq!(kept.len(), 2);
    let (again, first) = (&kept[0], &kept[1]);
    assert_eq!(again.id, 2);
    assert_eq!(again.body, first.body);
    assert_eq!(again.path, "/hook?token=t1");
    assert_eq!(again.headers["x-trace"], "abc");
    assert_eq!(again.status, 200);
    let (status, new_page) = page(format!("{}/deliveries/2?done=resent", setup.console)).await;
    assert_eq!(status, 200);
    assert!(new_page.contains("Sent again"), "{new_page}");
}
