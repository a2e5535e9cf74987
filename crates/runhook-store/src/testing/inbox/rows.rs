//! Cases of rows: insert, settle, replay, purge, list, depth and exact round trips.

use futures::future::join_all;
use runhook::DriftProblem;
use runhook::inbox::{
    Inbox, InboxDepth, InboxEntry, InboxFilter, InboxState, Inserted, Purge, Settlement,
};
use runhook::reconcile::Source;

use super::{Case, LEASE, check};

/// A new key is inserted once; its key again, in any state, is a duplicate that writes nothing.
pub(super) async fn insert<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let record = c.record("a", Some("run-a"), 0);
    c.insert_new(record.clone()).await?;
    let expected = InboxEntry::pending(record.clone());
    let mut other = c.record("a", None, 1);
    other.body = b"another body".to_vec().into();
    for state in [InboxState::Pending, InboxState::Done] {
        let inserted = c.insert(other.clone()).await?;
        check(inserted == Inserted::Duplicate(state), || {
            format!("a duplicate of a {state} row: {inserted:?}")
        })?;
        let entry = c.get("a").await?;
        check(
            entry.body == expected.body && entry.run_id == expected.run_id,
            || format!("a duplicate insert changed the row: {entry:?}"),
        )?;
        if state == InboxState::Pending {
            check(entry == expected, || {
                format!("the row read back: {entry:?}, inserted {expected:?}")
            })?;
            let claim = c.claim_exactly(c.at(2), 10, &["a"]).await?.remove(0);
            c.settle(&claim, c.at(2), Settlement::Done).await?;
        }
    }
    c.insert_new(c.record("b", None, 3)).await?;
    let claim = c.claim_exactly(c.at(3), 10, &["b"]).await?.remove(0);
    let dead = Settlement::Dead {
        error: "rejected".into(),
    };
    c.settle(&claim, c.at(3), dead).await?;
    let inserted = c.insert(c.record("b", None, 4)).await?;
    check(inserted == Inserted::Duplicate(InboxState::Dead), || {
        format!("a duplicate of a dead row: {inserted:?}")
    })
}

/// Of 16 concurrent inserts of one key, exactly one is new.
pub(super) async fn concurrent_inserts<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let record = c.record("race", None, 0);
    let inserts = (0..16).map(|_| c.insert(record.clone()));
    let results: Vec<Inserted> = join_all(inserts)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let new = results
        .iter()
        .filter(|inserted| **inserted == Inserted::New)
        .count();
    let duplicates = results
        .iter()
        .filter(|inserted| **inserted == Inserted::Duplicate(InboxState::Pending))
        .count();
    check(new == 1 && duplicates == 15, || {
        format!("16 concurrent inserts: {new} new, {duplicates} duplicates: {results:?}")
    })
}

/// Done, retry (due again at its time, with its error) and dead, each as memory does it.
pub(super) async fn settle<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for name in ["a-done", "b-retry", "c-dead"] {
        c.insert_new(c.record(name, None, 0)).await?;
    }
    let claims = c
        .claim_exactly(c.at(1), 10, &["a-done", "b-retry", "c-dead"])
        .await?;
    c.settle(&claims[0], c.at(2), Settlement::Done).await?;
    let retry = Settlement::Retry {
        at: c.at(100),
        error: "upstream 503".into(),
    };
    c.settle(&claims[1], c.at(2), retry).await?;
    let dead = Settlement::Dead {
        error: "unknown account".into(),
    };
    c.settle(&claims[2], c.at(3), dead).await?;

    let mut expected = claims[0].entry.clone();
    expected.state = InboxState::Done;
    expected.lease_until = None;
    expected.finished_at = Some(c.at(2));
    same(c.get("a-done").await?, expected)?;
    let mut expected = claims[1].entry.clone();
    expected.next_at = c.at(100);
    expected.lease_until = None;
    expected.last_error = Some("upstream 503".into());
    same(c.get("b-retry").await?, expected.clone())?;
    let mut dead = claims[2].entry.clone();
    dead.state = InboxState::Dead;
    dead.lease_until = None;
    dead.finished_at = Some(c.at(3));
    dead.last_error = Some("unknown account".into());
    same(c.get("c-dead").await?, dead)?;

    c.claim_exactly(c.at(99), 10, &[]).await?;
    let again = c
        .claim_exactly(c.at(100), 10, &["b-retry"])
        .await?
        .remove(0);
    expected.attempts = 2;
    expected.lease_until = Some(c.at(100) + LEASE);
    same(again.entry, expected)
}

/// Replay makes a dead row pending again, due now, attempts from zero in a new series, its last
/// error cleared; only dead rows.
pub(super) async fn replay<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for name in ["dead-1", "dead-2", "dead-3", "done", "pending"] {
        c.insert_new(c.record(name, None, 0)).await?;
    }
    let claims = c.claim(c.at(1), 4).await?;
    for claim in &claims[..3] {
        let dead = Settlement::Dead {
            error: "gave up".into(),
        };
        c.settle(claim, c.at(2), dead).await?;
    }
    c.settle(&claims[3], c.at(2), Settlement::Done).await?;
    for name in ["done", "pending", "absent"] {
        let replayed = c.inbox.replay(&c.key(name), c.at(3)).await;
        check(replayed == Ok(false), || {
            format!("replay of a row that is not dead ({name}): {replayed:?}")
        })?;
    }
    let replayed = c.inbox.replay(&c.key("dead-1"), c.at(3)).await;
    check(replayed == Ok(true), || {
        format!("replay of a dead row: {replayed:?}")
    })?;
    let mut expected = claims[0].entry.clone();
    expected.attempts = 0;
    expected.next_at = c.at(3);
    expected.lease_until = None;
    // A new series: its last error cleared, one more replay.
    expected.last_error = None;
    expected.replays = 1;
    same(c.get("dead-1").await?, expected)?;
    let all = c.inbox.replay_dead(c.at(4)).await;
    check(all == Ok(2), || format!("replay_dead: {all:?}, expected 2"))?;
    let again = c.inbox.replay_dead(c.at(4)).await;
    check(again == Ok(0), || format!("replay_dead again: {again:?}"))?;
    // Earliest due first: the row pending all along (due at 0), then dead-1 (replayed at 3),
    // then dead-2 and dead-3 (at 4).
    let names = ["pending", "dead-1", "dead-2", "dead-3"];
    let claims = c.claim_exactly(c.at(4), 10, &names).await?;
    check(claims.iter().all(|claim| claim.entry.attempts == 1), || {
        "a replayed row's attempts were not counted from zero".into()
    })
}

/// Purge removes finished rows of one kind finished before a time; never a pending row.
pub(super) async fn purge<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let names = ["done-1", "done-2", "dead-1", "dead-3", "held", "waiting"];
    for name in names {
        c.insert_new(c.record(name, None, 0)).await?;
    }
    let claims = c.claim(c.at(1), 10).await?;
    // Claimed in key order: dead-1, dead-3, done-1, done-2, held, waiting.
    for (claim, end, secs) in [
        (2, "done", 1),
        (3, "done", 2),
        (0, "dead", 1),
        (1, "dead", 3),
    ] {
        let settlement = match end {
            "done" => Settlement::Done,
            _ => Settlement::Dead { error: "no".into() },
        };
        c.settle(&claims[claim], c.at(secs), settlement).await?;
    }
    let retry = Settlement::Retry {
        at: c.at(50),
        error: "later".into(),
    };
    c.settle(&claims[5], c.at(1), retry).await?;
    let purge = |which, secs| c.inbox.purge(which, c.at(secs));
    let counts = [
        purge(Purge::Done, 2).await,
        purge(Purge::Done, 2).await,
        purge(Purge::Dead, 3).await,
        purge(Purge::Dead, 1000).await,
        purge(Purge::Done, 1000).await,
    ];
    check(counts == [Ok(1), Ok(0), Ok(1), Ok(1), Ok(1)], || {
        format!("purge counts {counts:?}, expected [1, 0, 1, 1, 1]")
    })?;
    for name in ["done-1", "done-2", "dead-1", "dead-3"] {
        let row = c.inbox.get(&c.key(name)).await;
        check(row == Ok(None), || {
            format!("{name} was not purged: {row:?}")
        })?;
    }
    c.get("held").await?;
    c.get("waiting").await?;
    let depth = c.inbox.depth(c.at(2)).await;
    check(
        matches!(&depth, Ok(d) if d.in_flight == 1 && d.pending == 1),
        || format!("after purging: {depth:?}"),
    )
}

/// Oldest first, by state, in pages after a cursor.
pub(super) async fn list<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let names = ["r0", "r1", "r2", "r3", "r4", "r5", "r6"];
    // Two rows at one time: ordered by key.
    for (name, secs) in names.iter().zip([0, 1, 1, 2, 3, 5, 8]).rev() {
        c.insert_new(c.record(name, None, secs)).await?;
    }
    let claims = c.claim(c.at(10), 3).await?;
    c.settle(&claims[0], c.at(10), Settlement::Done).await?;
    c.settle(&claims[2], c.at(10), Settlement::Done).await?;
    let keys = |entries: Vec<InboxEntry>| -> Vec<String> {
        entries.iter().map(|entry| entry.key.to_string()).collect()
    };
    let expected = |names: &[&str]| -> Vec<String> {
        names.iter().map(|name| c.key(name).to_string()).collect()
    };
    let list = |filter: InboxFilter| async move {
        c.inbox
            .list(&filter)
            .await
            .map_err(|error| format!("list: {error}"))
    };
    let all = list(InboxFilter::first(100)).await?;
    check(keys(all.clone()) == expected(&names), || {
        format!("list: {:?}", keys(all.clone()))
    })?;
    let done = keys(list(InboxFilter::first(100).in_state(InboxState::Done)).await?);
    check(done == expected(&["r0", "r2"]), || {
        format!("done rows: {done:?}")
    })?;
    let pending = keys(list(InboxFilter::first(2).in_state(InboxState::Pending)).await?);
    check(pending == expected(&["r1", "r3"]), || {
        format!("2 pending rows: {pending:?}")
    })?;
    let mut paged = Vec::new();
    let mut filter = InboxFilter::first(3);
    loop {
        let page = list(filter.clone()).await?;
        check(page.len() <= 3, || format!("a page of {} rows", page.len()))?;
        let Some(last) = page.last() else { break };
        filter = InboxFilter::first(3).after(last);
        paged.extend(page);
    }
    check(paged == all, || format!("pages: {:?}", keys(paged.clone())))?;
    let none = list(InboxFilter::first(0)).await?;
    check(none.is_empty(), || "a list of limit 0 returned rows".into())
}

/// Counts by state; a leased row is in flight until its lease ends.
pub(super) async fn depth<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for (name, secs) in [("a", 0), ("b", 0), ("c", 0), ("d", 0), ("later", 100)] {
        c.insert_new(c.record(name, None, secs)).await?;
    }
    let claims = c.claim_exactly(c.at(1), 3, &["a", "b", "c"]).await?;
    c.settle(&claims[0], c.at(1), Settlement::Done).await?;
    let dead = Settlement::Dead { error: "no".into() };
    c.settle(&claims[1], c.at(1), dead).await?;
    let counts = |pending, in_flight, done, dead| {
        let mut depth = InboxDepth::default();
        (depth.pending, depth.in_flight, depth.done, depth.dead) = (pending, in_flight, done, dead);
        depth.oldest_pending = Some(c.at(0));
        depth
    };
    let now = c.inbox.depth(c.at(2)).await;
    check(now == Ok(counts(2, 1, 1, 1)), || {
        format!("depth while leased: {now:?}")
    })?;
    let later = c.inbox.depth(c.at(1) + LEASE).await;
    check(later == Ok(counts(3, 0, 1, 1)), || {
        format!("depth after the lease: {later:?}")
    })
}

/// Bodies of any bytes (none, every byte value) and drift problems come back exactly.
pub(super) async fn round_trip<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let bytes: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let drift = vec![
        DriftProblem::new(
            "/data/steps/1/timestamp",
            "expected an RFC 3339 time, kept as text",
        ),
        DriftProblem::new(
            "/data/ü\"\\",
            "ünïcödé, \"quotes\" and \\ and \n new lines 🦀",
        ),
    ];
    let mut binary = c.record("binary", Some("run-ü"), 0).with_drift(drift);
    binary.body = bytes.into();
    let mut empty = c.record("empty", None, 0);
    empty.body = Vec::new().into();
    empty.event = "ünknown.event".into();
    for record in [binary, empty] {
        let name = record.key.clone();
        c.insert_new(record.clone()).await?;
        let expected = InboxEntry::pending(record);
        let got = c.inbox.get(&name).await;
        check(got.as_ref() == Ok(&Some(expected.clone())), || {
            format!("get of {name}: {got:?}, inserted {expected:?}")
        })?;
        let listed = c.inbox.list(&InboxFilter::first(10)).await;
        check(
            matches!(&listed, Ok(rows) if rows.contains(&expected)),
            || format!("list: {listed:?}, inserted {expected:?}"),
        )?;
    }
    let claims = c.claim(c.at(1), 10).await?;
    check(
        claims.len() == 2 && claims[0].entry.drift.len() == 2,
        || format!("claims: {claims:?}"),
    )
}

/// A row keeps how its event reached the receiver: a webhook by default, or recovered by the
/// reconciler, through get, list and claim.
pub(super) async fn source<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let cases = [
        ("webhook", c.record("webhook", None, 0), Source::Webhook),
        (
            "recovered",
            c.record("recovered", Some("run-r"), 0)
                .with_source(Source::Reconciler),
            Source::Reconciler,
        ),
    ];
    for (name, record, source) in &cases {
        c.insert_new(record.clone()).await?;
        let got = c.get(name).await?.source;
        check(got == *source, || {
            format!("get of {name}: source {got}, expected {source}")
        })?;
    }
    let listed = c
        .inbox
        .list(&InboxFilter::first(10))
        .await
        .map_err(|error| format!("list: {error}"))?;
    let claims = c.claim(c.at(1), 10).await?;
    for (name, _, source) in &cases {
        let key = c.key(name);
        let in_list = listed
            .iter()
            .find(|entry| entry.key == key)
            .map(|e| e.source);
        check(in_list == Some(*source), || {
            format!("list: {name} has source {in_list:?}, expected {source}")
        })?;
        let claimed = claims
            .iter()
            .find(|claim| claim.entry.key == key)
            .map(|claim| claim.entry.source);
        check(claimed == Some(*source), || {
            format!("claim_due: {name} has source {claimed:?}, expected {source}")
        })?;
    }
    Ok(())
}

/// `got` is `expected`, field for field.
fn same(got: InboxEntry, expected: InboxEntry) -> Result<(), String> {
    check(got == expected, || {
        format!("expected {expected:?}, got {got:?}")
    })
}
