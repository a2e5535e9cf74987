//! The PostgreSQL store's group commit on a real server: claims sent at once are committed in
//! groups (on the test's single-threaded runtime a few claims are all queued before the store's
//! task gathers them; a hundred may be split by tokio's cooperative budget into groups that commit
//! at once), and each keeps its own answer.

use crate::support;

use std::time::{Duration, SystemTime};

use futures::future::join_all;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, StoreError};
use runhook_store::{PostgresConfig, PostgresStore};
use support::{drop_schema, postgres_url, reachable, unique_schema};

const LEASE: Duration = Duration::from_secs(5);
const SECOND: Duration = Duration::from_secs(1);

async fn store(schema: &str) -> Option<PostgresStore> {
    let config = PostgresConfig::default().schema(schema);
    let connected = PostgresStore::connect_with(&postgres_url(), config).await;
    reachable("the PostgreSQL group tests", "PostgreSQL", connected)
}

#[tokio::test]
async fn a_key_twice_in_a_group_is_answered_as_claims_one_after_the_other() {
    let schema = unique_schema();
    let Some(store) = store(&schema).await else {
        return;
    };
    let key = IdempotencyKey::new("twice");
    let t0 = SystemTime::now();
    // The first takes the key; the second, a second later by its clock, finds it in flight; the
    // third, past the first's lease by its clock, takes it over.
    let answers =
        join_all([t0, t0 + SECOND, t0 + LEASE + SECOND].map(|now| store.claim(&key, now, LEASE)))
            .await;
    let takeover = t0 + LEASE + SECOND;
    let (first, second, third) = (&answers[0], &answers[1], &answers[2]);
    let stale = match first {
        Ok(Claim::Acquired(token)) => Some(store.complete(&key, *token, takeover, LEASE).await),
        _ => None,
    };
    let current = match third {
        Ok(Claim::Acquired(token)) => Some(store.complete(&key, *token, takeover, LEASE).await),
        _ => None,
    };
    drop_schema(&schema).await;
    assert!(matches!(first, Ok(Claim::Acquired(_))), "{answers:?}");
    assert_eq!(
        second,
        &Ok(Claim::InFlight {
            retry_after: LEASE - SECOND
        }),
        "{answers:?}"
    );
    assert!(matches!(third, Ok(Claim::Acquired(_))), "{answers:?}");
    assert_ne!(first, third, "the takeover got the same token");
    assert!(
        matches!(stale, Some(Err(StoreError::NotHeld { .. }))),
        "{stale:?}"
    );
    assert_eq!(current, Some(Ok(())));
}

#[tokio::test]
async fn of_many_keys_claimed_many_times_at_once_each_is_acquired_once() {
    let schema = unique_schema();
    let Some(store) = store(&schema).await else {
        return;
    };
    let t0 = SystemTime::now();
    let keys: Vec<IdempotencyKey> = (0..200)
        .map(|i| IdempotencyKey::new(format!("k{}", i % 50)))
        .collect();
    let answers = join_all(keys.iter().map(|key| store.claim(key, t0, LEASE))).await;
    // Each acquired claim completed twice at once: one of the two is refused.
    let mut completions = Vec::new();
    for (key, answer) in keys.iter().zip(&answers) {
        if let Ok(Claim::Acquired(token)) = answer {
            completions.push((key, *token));
        }
    }
    let completed = join_all(
        completions
            .iter()
            .chain(&completions)
            .map(|(key, token)| store.complete(key, *token, t0, LEASE)),
    )
    .await;
    drop_schema(&schema).await;
    assert_eq!(completions.len(), 50, "{answers:?}");
    let in_flight = answers
        .iter()
        .filter(|answer| **answer == Ok(Claim::InFlight { retry_after: LEASE }))
        .count();
    assert_eq!(in_flight, 150, "{answers:?}");
    // The two of a key may land in two groups that commit at once: either may win, never both.
    let (first, again) = completed.split_at(50);
    for (first, again) in first.iter().zip(again) {
        let refused =
            |answer: &Result<(), StoreError>| matches!(answer, Err(StoreError::NotHeld { .. }));
        assert!(
            (first.is_ok() && refused(again)) || (refused(first) && again.is_ok()),
            "{completed:?}"
        );
    }
}

#[tokio::test]
async fn a_claim_the_database_refuses_fails_alone() {
    let schema = unique_schema();
    let Some(store) = store(&schema).await else {
        return;
    };
    let t0 = SystemTime::now();
    // PostgreSQL's text cannot hold a NUL: that claim, and so its group's statement, fails.
    let keys = ["before", "bad\0key", "after"].map(IdempotencyKey::new);
    let answers = join_all(keys.iter().map(|key| store.claim(key, t0, LEASE))).await;
    drop_schema(&schema).await;
    assert!(matches!(answers[0], Ok(Claim::Acquired(_))), "{answers:?}");
    assert!(
        matches!(answers[1], Err(StoreError::Unavailable { .. })),
        "{answers:?}"
    );
    assert!(matches!(answers[2], Ok(Claim::Acquired(_))), "{answers:?}");
}
