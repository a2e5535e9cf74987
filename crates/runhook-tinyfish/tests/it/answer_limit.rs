//! The answer-body limit over real HTTP on 127.0.0.1: a run over
//! `ClientBuilder::max_answer_bytes` is not read (with or without a `content-length`), and the
//! confirmer reports it as unreadable (503), not as a refutation.

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use runhook::RunId;
use runhook_receiver::{ConfirmError, RunConfirmer};
use runhook_tinyfish::{Client, Error};

/// A run of about `size` bytes.
fn big_run(size: usize) -> String {
    format!(
        r#"{{"run_id":"r1","status":"COMPLETED","result":{{"pad":"{}"}}}}"#,
        "x".repeat(size)
    )
}

/// Serves `GET /v1/runs/r1` with a 1 MiB run: with a `content-length` at `/sized`, streamed
/// without one at `/streamed`. The base URLs.
async fn serve() -> (String, String) {
    let app = Router::new()
        .route("/sized/v1/runs/{id}", get(|| async { big_run(1 << 20) }))
        .route(
            "/streamed/v1/runs/{id}",
            get(|| async {
                let head = r#"{"run_id":"r1","status":"COMPLETED","result":{"pad":""#;
                let pad = (0..16).map(|_| "x".repeat(1 << 16));
                let chunks = std::iter::once(head.to_owned())
                    .chain(pad)
                    .chain(std::iter::once(r#""}}"#.to_owned()))
                    .map(Ok::<_, std::io::Error>);
                Response::new(Body::from_stream(futures::stream::iter(chunks)))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://{addr}/sized"),
        format!("http://{addr}/streamed"),
    )
}

fn client(base: &str, limit: usize) -> Client {
    Client::builder()
        .base_url(base)
        .api_key("test-key")
        .max_answer_bytes(limit)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_answer_over_the_limit_is_not_read() {
    let r1 = RunId::new("r1").unwrap();
    for base in <[String; 2]>::from(serve().await) {
        let error = client(&base, 64 * 1024).get_run(&r1).await.unwrap_err();
        assert!(
            matches!(&error, Error::Decode { message, .. } if message.contains("65536 bytes")),
            "{base}: {error:?}"
        );
        let answer = client(&base, 64 * 1024).fetch(&r1).await;
        assert!(
            matches!(answer, Err(ConfirmError::Unreadable(_))),
            "{base}: {answer:?}"
        );
        // Under a limit it fits, the run is read.
        let run = client(&base, 4 << 20).get_run(&r1).await.unwrap();
        assert_eq!(run.run_id, Some(r1.clone()));
    }
}
