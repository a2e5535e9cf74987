//! Cases of a row's attempt history ([`Inbox::attempts`], written by settle), of the replays of
//! finished rows ([`Inbox::replay_finished`], [`Inbox::replay_dead_matching`]) and of the purge
//! of one row ([`Inbox::purge_key`]).

use runhook::inbox::{
    ATTEMPT_HISTORY_LIMIT, Inbox, InboxAttempt, InboxState, Purge, RowFilter, Settlement,
};
use runhook::store::StoreError;

use super::{Case, LEASE, check};

async fn history<I: Inbox + 'static>(c: &Case<I>, name: &str) -> Result<Vec<InboxAttempt>, String> {
    c.inbox
        .attempts(&c.key(name))
        .await
        .map_err(|error| format!("attempts of {name}: {error}"))
}

/// Each settled attempt is recorded (claimed at its claim, settled at its settlement, as
/// [`InboxAttempt::settled`] says), oldest first; a replay starts a new series and keeps the
/// old one; a settlement refused records nothing; a row's history goes with it.
pub(super) async fn attempts<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    c.insert_new(c.record("h", Some("run-h"), 0)).await?;
    let none = history(c, "h").await?;
    check(none.is_empty(), || format!("a new row's history: {none:?}"))?;
    let retry = Settlement::Retry {
        at: c.at(10),
        error: "e1".into(),
    };
    let first = c.claim_exactly(c.at(1), 1, &["h"]).await?.remove(0);
    c.settle(&first, c.at(2), retry.clone()).await?;
    // Claimed at 10, lost when its lease ran out (at 15) to a claim then: the first holder's
    // settlement is refused and not recorded.
    let lost = c.claim_exactly(c.at(10), 1, &["h"]).await?.remove(0);
    let second = c
        .claim_exactly(c.at(10) + LEASE, 1, &["h"])
        .await?
        .remove(0);
    let refused = c
        .inbox
        .settle(&lost.entry.key, lost.token, c.at(17), Settlement::Done)
        .await;
    check(matches!(refused, Err(StoreError::NotHeld { .. })), || {
        format!("a settlement of a lost claim: {refused:?}")
    })?;
    let dead = Settlement::Dead { error: "e2".into() };
    c.settle(&second, c.at(18), dead.clone()).await?;
    let series_0 = vec![
        InboxAttempt::settled(0, 1, c.at(1), c.at(2), &retry),
        InboxAttempt::settled(0, 3, c.at(10) + LEASE, c.at(18), &dead),
    ];
    let got = history(c, "h").await?;
    check(got == series_0, || {
        format!("history: expected {series_0:?}, got {got:?}")
    })?;

    let replayed = c.inbox.replay(&c.key("h"), c.at(20)).await;
    check(replayed == Ok(true), || format!("replay: {replayed:?}"))?;
    let third = c.claim_exactly(c.at(20), 1, &["h"]).await?.remove(0);
    check(
        third.entry.attempts == 1 && third.entry.replays == 1,
        || format!("a replayed row claimed: {:?}", third.entry),
    )?;
    c.settle(&third, c.at(21), Settlement::Done).await?;
    let mut expected = series_0.clone();
    expected.push(InboxAttempt::settled(
        1,
        1,
        c.at(20),
        c.at(21),
        &Settlement::Done,
    ));
    let got = history(c, "h").await?;
    check(got == expected, || {
        format!("history after a replay: expected {expected:?}, got {got:?}")
    })?;
    let absent = history(c, "absent").await?;
    check(absent.is_empty(), || {
        format!("an absent row's history: {absent:?}")
    })?;

    // Purged, then inserted again: a new row, with no history.
    let purged = c.inbox.purge(Purge::Done, c.at(22)).await;
    check(purged == Ok(1), || format!("purge: {purged:?}"))?;
    c.insert_new(c.record("h", Some("run-h"), 30)).await?;
    let fresh = history(c, "h").await?;
    check(fresh.is_empty(), || {
        format!("a purged row's history outlived it: {fresh:?}")
    })
}

/// A row's history keeps its newest [`ATTEMPT_HISTORY_LIMIT`] attempts.
pub(super) async fn bounded<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    c.insert_new(c.record("long", None, 0)).await?;
    let total = ATTEMPT_HISTORY_LIMIT as u64 + 5;
    for i in 0..total {
        let claim = c.claim_exactly(c.at(i), 1, &["long"]).await?.remove(0);
        let retry = Settlement::Retry {
            at: c.at(i + 1),
            error: format!("attempt {}", i + 1),
        };
        c.settle(&claim, c.at(i), retry).await?;
    }
    let got = history(c, "long").await?;
    let attempts: Vec<u32> = got.iter().map(|attempt| attempt.attempt).collect();
    let expected: Vec<u32> = (6..=u32::try_from(total).unwrap_or(u32::MAX)).collect();
    check(attempts == expected, || {
        format!("a history of {total} attempts kept {attempts:?}, expected 6..={total}")
    })
}

/// `replay_finished` replays a done or dead row (not a pending one); `replay_dead_matching`
/// replays the dead rows of a filter, each as `replay` does.
pub(super) async fn replays<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    let rows = [
        ("done", None, "run.completed"),
        ("pending", None, "run.completed"),
        ("d-alpha-1", Some("alpha-1"), "run.completed"),
        ("d-alpha-2", Some("alpha-2"), "run.completed"),
        ("d-beta", Some("beta"), "run.completed"),
        ("d-failed", None, "run.failed"),
        ("d-norun", None, "run.completed"),
    ];
    for (name, run, event) in rows {
        let mut record = c.record(name, run, 0);
        record.event = event.into();
        c.insert_new(record).await?;
    }
    let claims = c.claim(c.at(1), 10).await?;
    for claim in &claims {
        let name = claim
            .entry
            .key
            .as_str()
            .trim_start_matches(c.namespace.as_str());
        let settlement = match name {
            "pending" => continue,
            "done" => Settlement::Done,
            _ => Settlement::Dead { error: "no".into() },
        };
        c.settle(claim, c.at(2), settlement).await?;
    }
    for name in ["pending", "absent"] {
        let replayed = c.inbox.replay_finished(&c.key(name), c.at(3)).await;
        check(replayed == Ok(false), || {
            format!("replay_finished of a row not finished ({name}): {replayed:?}")
        })?;
    }
    let replayed = c.inbox.replay_finished(&c.key("done"), c.at(3)).await;
    check(replayed == Ok(true), || {
        format!("replay_finished of a done row: {replayed:?}")
    })?;
    let done = c.get("done").await?;
    check(
        done.state == InboxState::Pending
            && (done.attempts, done.replays) == (0, 1)
            && done.next_at == c.at(3)
            && done.finished_at.is_none()
            && done.lease_until.is_none()
            && done.last_error.is_none(),
        || format!("a done row replayed: {done:?}"),
    )?;

    let matching = |filter: RowFilter| async move {
        c.inbox
            .replay_dead_matching(&filter, c.at(4))
            .await
            .map_err(|error| format!("replay_dead_matching {filter:?}: {error}"))
    };
    let alpha = RowFilter::all().with_run_id_prefix(format!("{}alpha-", c.namespace));
    for (filter, count) in [
        (alpha.clone(), 2),
        (alpha, 0),
        (RowFilter::all().with_event("run.failed"), 1),
        (RowFilter::all().with_key(c.key("pending")), 0),
        (RowFilter::all().with_key(c.key("d-beta")), 1),
        (RowFilter::all(), 1),
    ] {
        let got = matching(filter.clone()).await?;
        check(got == count, || {
            format!("replay_dead_matching {filter:?}: {got} rows, expected {count}")
        })?;
    }
    for name in ["d-alpha-1", "d-alpha-2", "d-beta", "d-failed", "d-norun"] {
        let row = c.get(name).await?;
        check(
            row.state == InboxState::Pending
                && (row.attempts, row.replays) == (0, 1)
                && row.next_at == c.at(4)
                && row.last_error.is_none()
                && row.finished_at.is_none(),
            || format!("a dead row replayed by filter: {row:?}"),
        )?;
    }
    let pending = c.get("pending").await?;
    check(pending.replays == 0 && pending.is_leased(c.at(4)), || {
        format!("a held row was touched by a replay: {pending:?}")
    })
}

/// `purge_key` deletes a done or dead row and its history; never a pending one, held or not.
pub(super) async fn purge_key<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for name in ["done", "dead", "held", "waiting"] {
        c.insert_new(c.record(name, None, 0)).await?;
    }
    let claims = c
        .claim_exactly(c.at(1), 10, &["dead", "done", "held", "waiting"])
        .await?;
    c.settle(&claims[0], c.at(2), Settlement::Dead { error: "no".into() })
        .await?;
    c.settle(&claims[1], c.at(2), Settlement::Done).await?;
    let retry = Settlement::Retry {
        at: c.at(100),
        error: "later".into(),
    };
    c.settle(&claims[3], c.at(2), retry).await?;
    for name in ["held", "waiting", "absent"] {
        let purged = c.inbox.purge_key(&c.key(name)).await;
        check(purged == Ok(false), || {
            format!("purge_key of a row not finished ({name}): {purged:?}")
        })?;
    }
    c.get("held").await?;
    c.get("waiting").await?;
    for name in ["done", "dead"] {
        let purged = c.inbox.purge_key(&c.key(name)).await;
        check(purged == Ok(true), || {
            format!("purge_key of {name}: {purged:?}")
        })?;
        let row = c.inbox.get(&c.key(name)).await;
        check(row == Ok(None), || {
            format!("{name} was not purged: {row:?}")
        })?;
        let again = c.inbox.purge_key(&c.key(name)).await;
        check(again == Ok(false), || {
            format!("purge_key of {name} again: {again:?}")
        })?;
    }
    // Inserted again: a new row, with no history.
    c.insert_new(c.record("done", None, 3)).await?;
    let fresh = history(c, "done").await?;
    check(fresh.is_empty(), || {
        format!("a purged row's history outlived it: {fresh:?}")
    })
}
