//! The store conformance suite against the in-memory store and a real Redis server
//! (`RUNHOOK_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`). With `CI=true` an unreachable
//! server fails the run; elsewhere the Redis case is skipped with a loud message.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;

use runhook::MemoryStore;
use runhook_store::RedisStore;
use runhook_store::testing::run_store_conformance;

fn unique(backend: &str) -> String {
    format!("runhook-test:{backend}:{}:", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn the_memory_store_conforms() {
    let problems = run_store_conformance(Arc::new(MemoryStore::new()), &unique("memory")).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_redis_store_conforms() {
    let url = std::env::var("RUNHOOK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = unique("redis");
    let store = match RedisStore::connect_with_prefix(&url, &prefix).await {
        Ok(store) => store,
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {url} is needed in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: the Redis store conformance run: no Redis at {url} ({error})");
            return;
        }
    };
    let problems = run_store_conformance(Arc::new(store), "").await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_at_connect() {
    let error = RedisStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Redis"), "{error}");
}
