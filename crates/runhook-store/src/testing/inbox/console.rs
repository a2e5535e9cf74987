//! Cases of what a console reads: pages newest first ([`Inbox::browse`]), activity per minute
//! ([`Inbox::activity`]) and the depth's retrying rows and oldest pending row.

use std::time::{Duration, SystemTime};

use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, Inbox, InboxEntry, InboxFilter, RowFilter,
    RowState, Settlement,
};

use super::{Case, check};

/// The names of `entries` (their keys without the case's namespace).
fn names<I>(c: &Case<I>, entries: &[InboxEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| {
            entry
                .key
                .as_str()
                .trim_start_matches(c.namespace.as_str())
                .to_owned()
        })
        .collect()
}

async fn browse<I: Inbox + 'static>(
    c: &Case<I>,
    query: &BrowseQuery,
) -> Result<Vec<InboxEntry>, String> {
    c.inbox
        .browse(query)
        .await
        .map_err(|error| format!("browse {query:?}: {error}"))
}

/// Newest first (by receipt, then key, both descending); by state (pending and retrying apart),
/// by key, `run_id` prefix and event; in pages before a cursor; at most the limit. Each query
/// is also checked against every row filtered by [`BrowseQuery::admits`].
pub(super) async fn browse_pages<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    // (name, run, event, received): two rows at one time (ordered by key).
    let rows = [
        ("a", Some("alpha-1"), "run.completed", 0),
        ("b", Some("alpha-2"), "run.failed", 1),
        ("c", Some("beta-1"), "run.completed", 1),
        ("d", None, "run.completed", 2),
        ("e", Some("alphabet"), "run.failed", 3),
        ("f", Some("gamma"), "run.completed", 20),
        ("g", None, "run.completed", 21),
    ];
    for (name, run, event, secs) in rows {
        let mut record = c.record(name, run, secs);
        record.event = event.into();
        c.insert_new(record).await?;
    }
    // a done, b retrying (waiting), c dead, d retrying and held again, e held; f and g pending
    // (due later).
    let claims = c
        .claim_exactly(c.at(10), 5, &["a", "b", "c", "d", "e"])
        .await?;
    c.settle(&claims[0], c.at(11), Settlement::Done).await?;
    let retry = Settlement::Retry {
        at: c.at(12),
        error: "later".into(),
    };
    c.settle(&claims[1], c.at(11), retry.clone()).await?;
    let dead = Settlement::Dead { error: "no".into() };
    c.settle(&claims[2], c.at(11), dead).await?;
    c.settle(&claims[3], c.at(11), retry.clone()).await?;
    let retry_later = Settlement::Retry {
        at: c.at(100),
        error: "later".into(),
    };
    let again = c.claim_exactly(c.at(12), 2, &["b", "d"]).await?;
    c.settle(&again[0], c.at(12), retry_later).await?;

    let expect = |query: BrowseQuery, expected: &'static [&'static str]| async move {
        let got = names(c, &browse(c, &query).await?);
        check(got == expected, || {
            format!("browse {query:?}: expected {expected:?}, got {got:?}")
        })
    };
    let newest = BrowseQuery::newest;
    expect(newest(100), &["g", "f", "e", "d", "c", "b", "a"]).await?;
    expect(newest(2), &["g", "f"]).await?;
    expect(newest(0), &[]).await?;
    expect(newest(100).in_state(RowState::Pending), &["g", "f", "e"]).await?;
    expect(newest(100).in_state(RowState::Retrying), &["d", "b"]).await?;
    expect(newest(100).in_state(RowState::Done), &["a"]).await?;
    expect(newest(100).in_state(RowState::Dead), &["c"]).await?;
    let alpha = RowFilter::all().with_run_id_prefix(format!("{}alpha", c.namespace));
    expect(newest(100).matching(alpha.clone()), &["e", "b", "a"]).await?;
    let alpha_dash = RowFilter::all().with_run_id_prefix(format!("{}alpha-", c.namespace));
    expect(newest(100).matching(alpha_dash), &["b", "a"]).await?;
    let failed = RowFilter::all().with_event("run.failed");
    expect(newest(100).matching(failed.clone()), &["e", "b"]).await?;
    let both = alpha.clone().with_event("run.completed");
    expect(newest(100).matching(both), &["a"]).await?;
    let key = RowFilter::all().with_key(c.key("d"));
    expect(newest(100).matching(key), &["d"]).await?;
    let none = RowFilter::all().with_run_id_prefix(format!("{}zeta", c.namespace));
    expect(newest(100).matching(none), &[]).await?;

    // Every combination against the reference: the rows `admits` lets through, newest first.
    let all = c
        .inbox
        .list(&InboxFilter::first(100))
        .await
        .map_err(|error| format!("list: {error}"))?;
    let states = [None].into_iter().chain(RowState::ALL.map(Some));
    for state in states {
        for filter in [RowFilter::all(), alpha.clone(), failed.clone()] {
            let mut query = newest(2).matching(filter);
            query.state = state;
            let mut expected: Vec<InboxEntry> =
                all.iter().filter(|e| query.admits(e)).cloned().collect();
            expected.sort_by(|a, b| (b.received_at, &b.key).cmp(&(a.received_at, &a.key)));
            // In pages of 2 before a cursor: together, every row the query admits.
            let mut paged = Vec::new();
            let mut page_query = query.clone();
            loop {
                let page = browse(c, &page_query).await?;
                check(page.len() <= 2, || format!("a page of {} rows", page.len()))?;
                let Some(last) = page.last() else { break };
                page_query = query.clone().before(last);
                paged.extend(page);
                check(paged.len() <= all.len(), || "pages never end".into())?;
            }
            check(paged == expected, || {
                format!(
                    "pages of {query:?}: expected {:?}, got {:?}",
                    names(c, &expected),
                    names(c, &paged)
                )
            })?;
        }
    }
    Ok(())
}

/// The start of minute `k` of the case's activity window (the first whole minute after its
/// start), plus `secs`.
fn minute<I>(c: &Case<I>, k: u64, secs: u64) -> SystemTime {
    ActivityWindow::new(c.t, 1).start + Duration::from_secs(60 * (k + 1) + secs)
}

/// Rows received per minute (by receipt), done and dead (by finish, only rows still in that
/// state); every minute of the window, in order, empty ones too.
pub(super) async fn activity<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    // Received before the window, finished in it.
    c.insert_new(c.record("before", None, 0)).await?;
    let received = [("a", 0, 1), ("b", 0, 2), ("c", 2, 1), ("d", 4, 1)];
    for (name, k, secs) in received {
        let mut record = c.record(name, None, 0);
        record.received_at = minute(c, k, secs);
        c.insert_new(record).await?;
    }
    let claims = c
        .claim_exactly(minute(c, 1, 0), 3, &["before", "a", "b"])
        .await?;
    c.settle(&claims[0], minute(c, 1, 5), Settlement::Done)
        .await?;
    let dead = Settlement::Dead { error: "no".into() };
    c.settle(&claims[1], minute(c, 3, 1), dead).await?;
    // Done, then replayed: no longer done.
    c.settle(&claims[2], minute(c, 1, 6), Settlement::Done)
        .await?;
    let replayed = c.inbox.replay_finished(&c.key("b"), minute(c, 2, 0)).await;
    check(replayed == Ok(true), || {
        format!("replay_finished: {replayed:?}")
    })?;
    // Finished after the window.
    let claims = c
        .claim_exactly(minute(c, 7, 0), 3, &["b", "c", "d"])
        .await?;
    c.settle(&claims[2], minute(c, 7, 1), Settlement::Done)
        .await?;

    let window = ActivityWindow::new(minute(c, 0, 30), 6);
    let got = c
        .inbox
        .activity(window)
        .await
        .map_err(|error| format!("activity: {error}"))?;
    let expected: Vec<ActivityMinute> = [
        (2, 0, 0),
        (0, 1, 0),
        (1, 0, 0),
        (0, 0, 1),
        (1, 0, 0),
        (0, 0, 0),
    ]
    .into_iter()
    .enumerate()
    .map(|(k, (received, processed, dead))| {
        let mut counts = ActivityMinute::empty(minute(c, k as u64, 0));
        (counts.received, counts.processed, counts.dead) = (received, processed, dead);
        counts
    })
    .collect();
    check(got == expected, || {
        format!("activity: expected {expected:?}, got {got:?}")
    })?;
    let none = c.inbox.activity(ActivityWindow::new(c.t, 0)).await;
    check(none == Ok(Vec::new()), || {
        format!("a window of no minutes: {none:?}")
    })?;
    let later = c
        .inbox
        .activity(ActivityWindow::new(minute(c, 10, 0), 2))
        .await
        .map_err(|error| format!("activity: {error}"))?;
    let empty: Vec<ActivityMinute> = (10..12)
        .map(|k| ActivityMinute::empty(minute(c, k, 0)))
        .collect();
    check(later == empty, || {
        format!("a window of no activity: expected {empty:?}, got {later:?}")
    })
}

/// Retrying rows are counted whether held or not; the oldest pending row is the earliest
/// received of the pending rows, held or not.
pub(super) async fn depth_retrying<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    for (name, secs) in [("p1", 0), ("p2", 1), ("p3", 2)] {
        c.insert_new(c.record(name, None, secs)).await?;
    }
    let claims = c.claim_exactly(c.at(3), 3, &["p1", "p2", "p3"]).await?;
    let retry = Settlement::Retry {
        at: c.at(6),
        error: "later".into(),
    };
    c.settle(&claims[0], c.at(4), retry).await?;
    c.settle(&claims[2], c.at(4), Settlement::Done).await?;
    let depth = |secs: u64| async move {
        let depth = c
            .inbox
            .depth(c.at(secs))
            .await
            .map_err(|error| format!("depth: {error}"))?;
        Ok::<_, String>((
            (depth.pending, depth.in_flight, depth.retrying),
            (depth.done, depth.dead),
            depth.oldest_pending,
        ))
    };
    let got = depth(5).await?;
    let expected = ((1, 1, 1), (1, 0), Some(c.at(0)));
    check(got == expected, || {
        format!("depth: expected {expected:?}, got {got:?}")
    })?;
    // p1 held again (p2 still held): still retrying.
    let again = c.claim_exactly(c.at(6), 3, &["p1"]).await?;
    let got = depth(6).await?;
    let expected = ((0, 2, 1), (1, 0), Some(c.at(0)));
    check(got == expected, || {
        format!("depth, a retrying row held: expected {expected:?}, got {got:?}")
    })?;
    c.settle(&again[0], c.at(7), Settlement::Done).await?;
    let got = depth(7).await?;
    let expected = ((0, 1, 0), (2, 0), Some(c.at(1)));
    check(got == expected, || {
        format!("depth, the oldest done: expected {expected:?}, got {got:?}")
    })?;
    let dead = Settlement::Dead { error: "no".into() };
    c.settle(&claims[1], c.at(7), dead).await?;
    let got = depth(7).await?;
    let expected = ((0, 0, 0), (2, 1), None);
    check(got == expected, || {
        format!("depth, nothing pending: expected {expected:?}, got {got:?}")
    })?;
    Ok(())
}
