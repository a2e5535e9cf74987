//! `MemoryStore`: claim / complete / release with leases, retention, eviction and concurrency,
//! checked against a reference model.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use runhook::store::{
    Claim, ClaimToken, DEFAULT_RETENTION, IdempotencyKey, IdempotencyStore, KeyState, MemoryStore,
    StoreError,
};

const LEASE: Duration = Duration::from_secs(60);

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600 + seconds)
}

fn key(name: &str) -> IdempotencyKey {
    IdempotencyKey::new(name)
}

fn acquire(ledger: &MemoryStore, name: &str, now: SystemTime) -> ClaimToken {
    match ledger.claim(&key(name), now, LEASE).unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("{name}: expected Acquired, got {other:?}"),
    }
}

#[test]
fn a_key_is_processed_once() {
    let ledger = MemoryStore::new();
    let token = acquire(&ledger, "r1", at(0));
    assert_eq!(ledger.state(&key("r1"), at(0)), KeyState::InFlight);
    assert_eq!(
        ledger.claim(&key("r1"), at(10), LEASE).unwrap(),
        Claim::InFlight {
            retry_after: Duration::from_secs(50)
        }
    );
    ledger
        .complete(&key("r1"), token, at(20), DEFAULT_RETENTION)
        .unwrap();
    assert_eq!(ledger.state(&key("r1"), at(20)), KeyState::Done);
    assert_eq!(
        ledger.claim(&key("r1"), at(30), LEASE).unwrap(),
        Claim::Done
    );
    // Retained 72 h from completion, then forgotten.
    let end = at(20) + DEFAULT_RETENTION;
    assert_eq!(
        ledger
            .claim(&key("r1"), end - Duration::from_secs(1), LEASE)
            .unwrap(),
        Claim::Done
    );
    assert_eq!(ledger.state(&key("r1"), end), KeyState::Absent);
    assert!(matches!(
        ledger.claim(&key("r1"), end, LEASE).unwrap(),
        Claim::Acquired(_)
    ));
}

#[test]
fn release_makes_the_key_claimable_again() {
    let ledger = MemoryStore::new();
    let token = acquire(&ledger, "r1", at(0));
    ledger.release(&key("r1"), token, at(1)).unwrap();
    assert_eq!(ledger.state(&key("r1"), at(1)), KeyState::Absent);
    let again = acquire(&ledger, "r1", at(2));
    assert_ne!(again, token, "every acquisition gets a new token");
    // The old token is spent.
    assert_eq!(
        ledger.release(&key("r1"), token, at(3)),
        Err(StoreError::NotHeld { key: key("r1") })
    );
}

#[test]
fn an_expired_lease_is_taken_over_and_fences_the_old_holder() {
    let ledger = MemoryStore::new();
    let first = acquire(&ledger, "r1", at(0));
    // At exactly the end of the lease the key is claimable.
    let second = acquire(&ledger, "r1", at(60));
    assert_ne!(first, second);
    assert!(matches!(
        ledger.complete(&key("r1"), first, at(61), DEFAULT_RETENTION),
        Err(StoreError::NotHeld { .. })
    ));
    assert!(matches!(
        ledger.release(&key("r1"), first, at(61)),
        Err(StoreError::NotHeld { .. })
    ));
    ledger
        .complete(&key("r1"), second, at(62), DEFAULT_RETENTION)
        .unwrap();
    assert_eq!(
        ledger.claim(&key("r1"), at(63), LEASE).unwrap(),
        Claim::Done
    );
}

#[test]
fn renewing_extends_the_lease_and_fences_a_taken_over_holder() {
    let ledger = MemoryStore::new();
    let lease = Duration::from_secs(10);
    let token = acquire(&ledger, "r1", at(0));
    ledger.renew(&key("r1"), token, at(8), lease).unwrap();
    assert_eq!(
        ledger.claim(&key("r1"), at(15), lease).unwrap(),
        Claim::InFlight {
            retry_after: Duration::from_secs(3)
        },
        "renewed at 8 s for 10 s: held until 18 s"
    );
    let other = acquire(&ledger, "r1", at(18));
    assert!(matches!(
        ledger.renew(&key("r1"), token, at(19), lease),
        Err(StoreError::NotHeld { .. })
    ));
    ledger.renew(&key("r1"), other, at(19), lease).unwrap();
    assert!(matches!(
        ledger.renew(&key("absent"), other, at(19), lease),
        Err(StoreError::NotHeld { .. })
    ));
}

#[test]
fn a_holder_past_its_lease_may_still_complete_if_nobody_took_over() {
    let ledger = MemoryStore::new();
    let token = acquire(&ledger, "r1", at(0));
    assert_eq!(ledger.state(&key("r1"), at(100)), KeyState::Absent);
    ledger
        .complete(&key("r1"), token, at(100), DEFAULT_RETENTION)
        .unwrap();
    assert_eq!(ledger.state(&key("r1"), at(100)), KeyState::Done);
}

#[test]
fn complete_and_release_of_unknown_or_done_keys_fail() {
    let ledger = MemoryStore::new();
    let token = ClaimToken::new(42);
    assert!(matches!(
        ledger.complete(&key("nope"), token, at(0), DEFAULT_RETENTION),
        Err(StoreError::NotHeld { .. })
    ));
    let token = acquire(&ledger, "r1", at(0));
    ledger
        .complete(&key("r1"), token, at(0), DEFAULT_RETENTION)
        .unwrap();
    assert!(
        ledger
            .complete(&key("r1"), token, at(0), DEFAULT_RETENTION)
            .is_err()
    );
    assert!(ledger.release(&key("r1"), token, at(0)).is_err());
    assert_eq!(
        ledger.state(&key("r1"), at(0)),
        KeyState::Done,
        "a done key stays done"
    );
}

#[test]
fn eviction_drops_expired_entries_first_then_the_oldest_completed() {
    let ledger = MemoryStore::with_capacity(3);
    let retention = Duration::from_secs(100);
    let a = acquire(&ledger, "a", at(0));
    ledger.complete(&key("a"), a, at(0), retention).unwrap(); // done until 100
    let b = acquire(&ledger, "b", at(1));
    ledger.complete(&key("b"), b, at(1), retention).unwrap(); // done until 101
    acquire(&ledger, "c", at(2)); // in flight until 62
    assert_eq!(ledger.len(), 3);

    // Full, nothing expired: the oldest completed ("a") goes.
    acquire(&ledger, "d", at(10));
    assert_eq!(ledger.state(&key("a"), at(10)), KeyState::Absent);
    assert_eq!(ledger.state(&key("b"), at(10)), KeyState::Done);
    assert_eq!(ledger.state(&key("c"), at(10)), KeyState::InFlight);

    // At 70 the leases of "c" (until 62) and "d" (until 70) have run out, but nobody took the
    // keys over: they are still held, so the completed "b" is evicted instead.
    acquire(&ledger, "e", at(70));
    assert_eq!(ledger.state(&key("b"), at(70)), KeyState::Absent);
    assert_eq!(ledger.len(), 3);

    // Full of claims, some past their lease: nothing may be evicted.
    let full = MemoryStore::with_capacity(2);
    let x = acquire(&full, "x", at(0));
    acquire(&full, "y", at(0));
    assert_eq!(
        full.claim(&key("z"), at(1), LEASE),
        Err(StoreError::Full { capacity: 2 })
    );
    // A key already held is still answered when full.
    assert!(matches!(
        full.claim(&key("x"), at(1), LEASE).unwrap(),
        Claim::InFlight { .. }
    ));
    // Long after both leases ran out, a new key still finds no room...
    assert_eq!(
        full.claim(&key("z"), at(600), LEASE),
        Err(StoreError::Full { capacity: 2 })
    );
    // ...because the holder of an expired claim that nobody took over may still complete it:
    // fencing is by token, not by the lease.
    full.complete(&key("x"), x, at(600), Duration::from_secs(10))
        .unwrap();
    assert_eq!(full.state(&key("x"), at(600)), KeyState::Done);
    // Its retention over, the completed key makes room.
    assert!(matches!(
        full.claim(&key("z"), at(611), LEASE).unwrap(),
        Claim::Acquired(_)
    ));
    assert!(
        MemoryStore::with_capacity(0)
            .claim(&key("a"), at(0), LEASE)
            .is_err()
    );
}

#[test]
fn huge_durations_saturate_instead_of_overflowing() {
    let ledger = MemoryStore::new();
    let token = match ledger.claim(&key("r1"), at(0), Duration::MAX).unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ledger.state(&key("r1"), at(1_000_000_000)),
        KeyState::InFlight
    );
    ledger
        .complete(&key("r1"), token, at(0), Duration::MAX)
        .unwrap();
    assert_eq!(ledger.state(&key("r1"), at(1_000_000_000)), KeyState::Done);
}

#[test]
fn concurrent_claims_of_one_key_acquire_once() {
    let ledger = Arc::new(MemoryStore::new());
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (ledger, barrier) = (Arc::clone(&ledger), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                (0..200)
                    .map(|i| ledger.claim(&key(&format!("k{i}")), at(0), LEASE).unwrap())
                    .filter(|claim| matches!(claim, Claim::Acquired(_)))
                    .count()
            })
        })
        .collect();
    let acquired: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(acquired, 200, "each of the 200 keys acquired exactly once");
}

#[test]
fn the_async_trait_delegates() {
    let ledger: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
    let run = async {
        let Claim::Acquired(token) = ledger.claim(&key("r1"), at(0), LEASE).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            ledger.state(&key("r1"), at(0)).await.unwrap(),
            KeyState::InFlight
        );
        ledger.release(&key("r1"), token, at(0)).await.unwrap();
        let Claim::Acquired(token) = ledger.claim(&key("r1"), at(0), LEASE).await.unwrap() else {
            panic!()
        };
        ledger
            .complete(&key("r1"), token, at(0), LEASE)
            .await
            .unwrap();
        assert_eq!(
            ledger.state(&key("r1"), at(0)).await.unwrap(),
            KeyState::Done
        );
    };
    // No runtime needed: MemoryStore's futures are ready at once.
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    assert!(std::pin::pin!(run).poll(&mut context).is_ready());
}

/// One store operation at a time offset, for the model test.
#[derive(Debug, Clone)]
enum Op {
    Claim(u8),
    Complete(u8),
    Release(u8),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::Claim),
        (0u8..4).prop_map(Op::Complete),
        (0u8..4).prop_map(Op::Release),
        (0u64..90).prop_map(Op::Wait),
    ]
}

/// The reference: unbounded, obvious.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    InFlight(ClaimToken, SystemTime),
    Done(SystemTime),
}

proptest! {
    /// With room to spare, the store answers exactly like the obvious model.
    #[test]
    fn agrees_with_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let ledger = MemoryStore::with_capacity(64);
        let retention = Duration::from_secs(120);
        let mut model: BTreeMap<u8, Model> = BTreeMap::new();
        let mut tokens: BTreeMap<u8, ClaimToken> = BTreeMap::new();
        let mut now = at(0);
        for op in ops {
            match op {
                Op::Wait(seconds) => now += Duration::from_secs(seconds),
                Op::Claim(k) => {
                    let got = ledger.claim(&key(&k.to_string()), now, LEASE).unwrap();
                    let live = model.get(&k).copied().filter(|m| match m {
                        Model::InFlight(_, until) | Model::Done(until) => *until > now,
                    });
                    match (live, got) {
                        (None, Claim::Acquired(token)) => {
                            model.insert(k, Model::InFlight(token, now + LEASE));
                            tokens.insert(k, token);
                        }
                        (Some(Model::InFlight(_, until)), Claim::InFlight { retry_after }) => {
                            prop_assert_eq!(retry_after, until.duration_since(now).unwrap());
                        }
                        (Some(Model::Done(_)), Claim::Done) => {}
                        (expected, got) => prop_assert!(false, "model {expected:?}, got {got:?}"),
                    }
                }
                Op::Complete(k) | Op::Release(k) => {
                    let Some(&token) = tokens.get(&k) else { continue };
                    let complete = matches!(op, Op::Complete(_));
                    let result = if complete {
                        ledger.complete(&key(&k.to_string()), token, now, retention)
                    } else {
                        ledger.release(&key(&k.to_string()), token, now)
                    };
                    let held = matches!(model.get(&k), Some(Model::InFlight(t, _)) if *t == token);
                    prop_assert_eq!(result.is_ok(), held);
                    if held {
                        if complete {
                            model.insert(k, Model::Done(now + retention));
                        } else {
                            model.remove(&k);
                        }
                    }
                }
            }
            for k in 0u8..4 {
                let expected = match model.get(&k) {
                    Some(Model::InFlight(_, until)) if *until > now => KeyState::InFlight,
                    Some(Model::Done(until)) if *until > now => KeyState::Done,
                    _ => KeyState::Absent,
                };
                prop_assert_eq!(ledger.state(&key(&k.to_string()), now), expected);
            }
        }
    }

    /// Bounded: never more than `capacity` keys, and a held claim is never evicted, not even
    /// past its lease: until the key is taken over, its holder can still complete it.
    #[test]
    fn never_exceeds_capacity_nor_evicts_held_claims(
        ops in prop::collection::vec((0u8..12, 0u64..30, any::<bool>()), 1..80),
    ) {
        let ledger = MemoryStore::with_capacity(4);
        let mut now = at(0);
        let mut held: BTreeMap<u8, (ClaimToken, SystemTime)> = BTreeMap::new();
        for (k, wait, finish) in ops {
            now += Duration::from_secs(wait);
            match ledger.claim(&key(&k.to_string()), now, LEASE) {
                Ok(Claim::Acquired(token)) => {
                    // A takeover: the earlier holder of this key lost it.
                    held.remove(&k);
                    if finish {
                        ledger.complete(&key(&k.to_string()), token, now, DEFAULT_RETENTION).unwrap();
                    } else {
                        held.insert(k, (token, now + LEASE));
                    }
                }
                Ok(_) => {}
                Err(StoreError::Full { capacity }) => {
                    prop_assert_eq!(capacity, 4);
                    prop_assert_eq!(held.len(), 4, "full only when every entry is a held claim");
                }
                Err(other) => prop_assert!(false, "{other}"),
            }
            prop_assert!(ledger.len() <= 4);
            for (k, (_, until)) in &held {
                if *until > now {
                    prop_assert_eq!(ledger.state(&key(&k.to_string()), now), KeyState::InFlight);
                }
            }
        }
        for (k, (token, _)) in held {
            prop_assert_eq!(
                ledger.complete(&key(&k.to_string()), token, now, DEFAULT_RETENTION),
                Ok(()),
                "the holder of {} lost its claim without a takeover", k
            );
        }
    }
}

#[test]
fn a_custom_key_function_is_called_for_unknown_events_too() {
    let strategy = runhook::KeyStrategy::custom(|event| {
        Some(runhook::store::IdempotencyKey::new(format!(
            "custom:{}",
            event.name()
        )))
    });
    let unknown = runhook::Event::from_slice(br#"{"event":"run.started","run_id":"r1"}"#).unwrap();
    assert_eq!(
        strategy.key(&unknown).map(|k| k.as_str().to_owned()),
        Some("custom:run.started".to_owned()),
        "the {{run_id}}:{{event}} rule applies to RunId and RunIdAndEvent only"
    );
}
