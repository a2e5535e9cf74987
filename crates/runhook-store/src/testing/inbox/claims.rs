//! Cases of claiming: order, runs, leases and fencing, concurrency.

use std::collections::{HashMap, HashSet};

use futures::future::join_all;
use runhook::inbox::{Inbox, Settlement};
use runhook::store::{ClaimToken, StoreError};

use super::{Case, LEASE, check};

/// Oldest first (by receipt, then key); of a run, only its oldest pending row, and none while
/// another row of the run is leased; a row is due at its `next_at`.
pub(super) async fn order<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    // Inserted out of order on purpose.
    for (name, run, secs) in [
        ("later", None, 6),
        ("tie-b", None, 5),
        ("run1-third", Some("run1"), 3),
        ("run1-second", Some("run1"), 2),
        ("run1-first", Some("run1"), 1),
        ("run2-only", Some("run2"), 4),
        ("tie-a", None, 5),
        ("future", None, 30),
    ] {
        c.insert_new(c.record(name, run, secs)).await?;
    }
    let now = c.at(10);
    let first = c
        .claim_exactly(now, 2, &["run1-first", "run2-only"])
        .await?;
    for claim in &first {
        check(claim.entry.attempts == 1, || {
            format!("a first claim counts attempt {}", claim.entry.attempts)
        })?;
        check(claim.entry.lease_until == Some(now + LEASE), || {
            format!(
                "lease_until {:?}, expected now + lease",
                claim.entry.lease_until
            )
        })?;
    }
    let tokens: HashSet<_> = first.iter().map(|claim| claim.token).collect();
    check(tokens.len() == 2, || "two claims got one token".into())?;
    let rest = c
        .claim_exactly(now, 10, &["tie-a", "tie-b", "later"])
        .await?;
    c.claim_exactly(now, 10, &[]).await?;
    for claim in first.iter().chain(&rest) {
        c.settle(claim, now, Settlement::Done).await?;
    }

    // The run's next row once the first is done; a retry holds the run back until it is due.
    let second = c.claim_exactly(now, 10, &["run1-second"]).await?;
    let retry_at = c.at(20);
    let retry = Settlement::Retry {
        at: retry_at,
        error: "busy".into(),
    };
    c.settle(&second[0], now, retry).await?;
    c.claim_exactly(c.at(19), 10, &[]).await?;
    let second = c.claim_exactly(retry_at, 10, &["run1-second"]).await?;
    check(second[0].entry.attempts == 2, || {
        format!("a second claim counts attempt {}", second[0].entry.attempts)
    })?;
    // Dead: the run goes on with its next row.
    let dead = Settlement::Dead { error: "no".into() };
    c.settle(&second[0], retry_at, dead).await?;
    let third = c.claim_exactly(retry_at, 10, &["run1-third"]).await?;
    // A replayed older row waits while a younger row of its run is leased.
    let replayed = c.inbox.replay(&c.key("run1-second"), retry_at).await;
    check(replayed == Ok(true), || format!("replay: {replayed:?}"))?;
    c.claim_exactly(retry_at, 10, &[]).await?;
    c.settle(&third[0], retry_at, Settlement::Done).await?;
    let replayed = c.claim_exactly(retry_at, 10, &["run1-second"]).await?;
    c.settle(&replayed[0], retry_at, Settlement::Done).await?;
    // Received in the future: due then.
    c.claim_exactly(c.at(29), 10, &[]).await?;
    c.claim_exactly(c.at(30), 10, &["future"]).await?;
    Ok(())
}

/// An expired lease is taken over with a new token; the old token's renew and settle are
/// refused. A holder past its lease that nobody took over still holds the row.
pub(super) async fn takeover<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let key = c.key("fence");
    c.insert_new(c.record("fence", None, 0)).await?;
    let first = c.claim_exactly(c.at(0), 10, &["fence"]).await?.remove(0);
    c.claim_exactly(c.at(4), 10, &[]).await?;
    let renewed = c.inbox.renew(&key, first.token, c.at(3), LEASE).await;
    check(renewed.is_ok(), || {
        format!("renew by the holder: {renewed:?}")
    })?;
    c.claim_exactly(c.at(7), 10, &[]).await?;
    let second = c.claim_exactly(c.at(8), 10, &["fence"]).await?.remove(0);
    check(second.token != first.token, || {
        "the takeover got the same token".into()
    })?;
    check(second.entry.attempts == 2, || {
        format!("the takeover counts attempt {}", second.entry.attempts)
    })?;
    let not_held = |result: Result<(), StoreError>, what: &str| {
        check(matches!(result, Err(StoreError::NotHeld { .. })), || {
            format!("the old holder's {what}: expected NotHeld, got {result:?}")
        })
    };
    not_held(
        c.inbox.renew(&key, first.token, c.at(9), LEASE).await,
        "renew",
    )?;
    let settle = c.inbox.settle(&key, first.token, c.at(9), Settlement::Done);
    not_held(settle.await, "settle")?;
    let entry = c.get("fence").await?;
    check(
        entry.attempts == 2 && entry.lease_until == Some(c.at(8) + LEASE),
        || format!("the old holder changed the row: {entry:?}"),
    )?;
    c.settle(&second, c.at(9), Settlement::Done).await?;
    let again = c
        .inbox
        .settle(&key, second.token, c.at(9), Settlement::Done);
    check(
        matches!(again.await, Err(StoreError::NotHeld { .. })),
        || "a second settle of a done row was not refused".into(),
    )?;

    // A retried row is pending again, but its settled claim holds it no more; nor does any
    // token hold a row nobody claimed.
    let retried = c.key("retried");
    c.insert_new(c.record("retried", None, 20)).await?;
    let claim = c.claim_exactly(c.at(20), 10, &["retried"]).await?.remove(0);
    let retry = Settlement::Retry {
        at: c.at(50),
        error: "upstream 503".into(),
    };
    c.settle(&claim, c.at(21), retry).await?;
    let twice = c
        .inbox
        .settle(&retried, claim.token, c.at(22), Settlement::Done);
    not_held(twice.await, "second settle after a retry")?;
    not_held(
        c.inbox.renew(&retried, claim.token, c.at(22), LEASE).await,
        "renew after a retry",
    )?;
    let fresh = c.key("fresh");
    c.insert_new(c.record("fresh", None, 20)).await?;
    for token in [0, claim.token.get(), second.token.get()] {
        let settle = c
            .inbox
            .settle(&fresh, ClaimToken::new(token), c.at(22), Settlement::Done);
        not_held(settle.await, "settle of a row never claimed")?;
    }
    for claim in c.claim_exactly(c.at(50), 10, &["fresh", "retried"]).await? {
        c.settle(&claim, c.at(50), Settlement::Done).await?;
    }

    // Past its lease, not taken over: the holder renews.
    let late = c.key("late");
    c.insert_new(c.record("late", None, 100)).await?;
    let held = c.claim_exactly(c.at(100), 10, &["late"]).await?.remove(0);
    let renewed = c.inbox.renew(&late, held.token, c.at(160), LEASE).await;
    check(renewed.is_ok(), || {
        format!("renew past the lease: {renewed:?}")
    })?;
    c.claim_exactly(c.at(164), 10, &[]).await?;
    let entry = c.get("late").await?;
    check(entry.lease_until == Some(c.at(160) + LEASE), || {
        format!("the renewed lease ends at {:?}", entry.lease_until)
    })
}

/// Eight callers claiming at once never get one row twice, and never two rows of one run.
pub(super) async fn concurrent<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for i in 0..150 {
        c.insert_new(c.record(&format!("solo-{i:03}"), None, i % 7))
            .await?;
    }
    for run in 0..10 {
        for i in 0..5 {
            let name = format!("run{run}-{i}");
            c.insert_new(c.record(&name, Some(&format!("run{run}")), i))
                .await?;
        }
    }
    let now = c.at(60);
    let callers = (0..8).map(|_| async move {
        let mut claimed = Vec::new();
        loop {
            let claims = c.claim(now, 7).await?;
            if claims.is_empty() {
                return Ok::<_, String>(claimed);
            }
            claimed.extend(claims.into_iter().map(|claim| claim.entry));
        }
    });
    let mut seen = HashSet::new();
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    for result in join_all(callers).await {
        for entry in result? {
            check(seen.insert(entry.key.clone()), || {
                format!("{} was claimed twice", entry.key)
            })?;
            if let Some(run) = entry.run_id {
                runs.entry(run).or_default().push(entry.key.to_string());
            }
        }
    }
    c.claim_exactly(now, 100, &[]).await?;
    check(seen.len() == 160, || {
        format!(
            "{} rows claimed, expected 150 and one of each of 10 runs",
            seen.len()
        )
    })?;
    for (run, keys) in runs {
        let oldest = format!("{}-0", run);
        check(keys == [oldest.clone()], || {
            format!("run {run}: claimed {keys:?}, expected only {oldest}")
        })?;
    }
    Ok(())
}
