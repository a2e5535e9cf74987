//! The reconcile state conformance suite: the semantics of
//! [`MemoryReconcileState`](runhook::reconcile::MemoryReconcileState) that every durable
//! [`ReconcileState`] must have, checked the same way against each.
//!
//! Times are fixed whole milliseconds (as durable states keep them); each case asks for scopes
//! of its own, so it starts from an empty state.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::reconcile::{ReconcileState, WatchedRun};

use super::check;

/// Runs every case and returns the problems found (empty: the states conform).
///
/// `make(scope)` gives the state of `scope` on one shared database: asked twice for one scope,
/// both states see the same watermark and watch list; states of two scopes see nothing of each
/// other. Every scope the suite asks for starts with `namespace` (so runs against one shared
/// database do not collide), and must be empty at first.
pub async fn run_reconcile_state_conformance<F, Fut>(make: F, namespace: &str) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Arc<dyn ReconcileState>>,
{
    let scope = |name: &str| format!("{namespace}{name}");
    let mut problems = Vec::new();
    let cases: [(&str, Result<(), String>); 5] = [
        (
            "watermark: none at first, then the one set last",
            watermark(&*make(scope("watermark")).await).await,
        ),
        (
            "watch: a run already watched keeps its first since",
            watch(&*make(scope("watch")).await).await,
        ),
        (
            "watched: longest watched first, by run id on ties, at most the limit",
            order(&*make(scope("order")).await).await,
        ),
        (
            "unwatch: counts only the runs that were watched",
            unwatch(&*make(scope("unwatch")).await).await,
        ),
        (
            "scopes: isolated from one another, shared by their handles",
            scopes(
                &*make(scope("scope-a")).await,
                &*make(scope("scope-b")).await,
                &*make(scope("scope-a")).await,
            )
            .await,
        ),
    ];
    for (name, result) in cases {
        if let Err(problem) = result {
            problems.push(format!("{name}: {problem}"));
        }
    }
    problems
}

/// `secs` seconds and `ms` milliseconds after a fixed time of 2023.
fn at(secs: u64, ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs) + Duration::from_millis(ms)
}

fn run(run_id: &str, since: SystemTime) -> WatchedRun {
    WatchedRun::new(run_id, since)
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

async fn watermark(state: &dyn ReconcileState) -> Result<(), String> {
    let first = state.watermark().await;
    check(first == Ok(None), || {
        format!("a new scope's watermark: {first:?}")
    })?;
    for time in [at(100, 1), at(50, 999), at(200, 0)] {
        state
            .set_watermark(time)
            .await
            .map_err(|error| format!("set_watermark: {error}"))?;
        let got = state.watermark().await;
        check(got == Ok(Some(time)), || {
            format!("watermark after setting {time:?}: {got:?}")
        })?;
    }
    Ok(())
}

async fn watched(state: &dyn ReconcileState, limit: usize) -> Result<Vec<WatchedRun>, String> {
    state
        .watched(limit)
        .await
        .map_err(|error| format!("watched({limit}): {error}"))
}

async fn len(state: &dyn ReconcileState) -> Result<u64, String> {
    state
        .watch_len()
        .await
        .map_err(|error| format!("watch_len: {error}"))
}

async fn add(state: &dyn ReconcileState, runs: &[WatchedRun]) -> Result<(), String> {
    state
        .watch(runs)
        .await
        .map_err(|error| format!("watch of {runs:?}: {error}"))
}

async fn watch(state: &dyn ReconcileState) -> Result<(), String> {
    check(watched(state, 100).await?.is_empty(), || {
        "a new scope watches runs".into()
    })?;
    check(len(state).await? == 0, || "a new scope's watch_len".into())?;
    add(state, &[]).await?;
    add(state, &[run("a", at(10, 0)), run("b", at(5, 0))]).await?;
    // Again, earlier and later: each keeps its first since; "c" is new. A run given twice in
    // one call keeps its first since too.
    add(
        state,
        &[
            run("a", at(1, 0)),
            run("c", at(7, 0)),
            run("b", at(50, 0)),
            run("d", at(8, 0)),
            run("d", at(2, 0)),
        ],
    )
    .await?;
    let expected = vec![
        run("b", at(5, 0)),
        run("c", at(7, 0)),
        run("d", at(8, 0)),
        run("a", at(10, 0)),
    ];
    let got = watched(state, 100).await?;
    check(got == expected, || {
        format!("watched: {got:?}, expected {expected:?}")
    })?;
    let count = len(state).await?;
    check(count == 4, || format!("watch_len: {count}, expected 4"))
}

async fn order(state: &dyn ReconcileState) -> Result<(), String> {
    // Ties on since are ordered by run id, bytewise ("B" < "a" < "b" < "é").
    let runs = [
        run("é", at(3, 0)),
        run("b", at(3, 0)),
        run("late", at(9, 500)),
        run("B", at(3, 0)),
        run("a", at(3, 0)),
        run("first", at(3, 0) - Duration::from_millis(1)),
    ];
    add(state, &runs).await?;
    let all = ["first", "B", "a", "b", "é", "late"];
    for limit in [0, 1, 3, 6, 1000, usize::MAX] {
        let got: Vec<String> = watched(state, limit)
            .await?
            .into_iter()
            .map(|run| run.run_id)
            .collect();
        let expected = ids(&all[..limit.min(all.len())]);
        check(got == expected, || {
            format!("watched({limit}): {got:?}, expected {expected:?}")
        })?;
    }
    let got = watched(state, 1).await?;
    let expected = vec![runs[5].clone()];
    check(got == expected, || {
        format!("watched(1): {got:?}, expected {expected:?} (since to the millisecond)")
    })?;
    let count = len(state).await?;
    check(count == 6, || format!("watch_len: {count}, expected 6"))
}

async fn unwatch(state: &dyn ReconcileState) -> Result<(), String> {
    add(
        state,
        &[run("a", at(1, 0)), run("b", at(2, 0)), run("c", at(3, 0))],
    )
    .await?;
    let remove = |names: &[&str]| {
        let run_ids = ids(names);
        async move {
            state
                .unwatch(&run_ids)
                .await
                .map_err(|error| format!("unwatch of {run_ids:?}: {error}"))
        }
    };
    let removed = remove(&[]).await?;
    check(removed == 0, || format!("unwatch of nothing: {removed}"))?;
    // "a" twice and a run never watched: one run was on the list.
    let removed = remove(&["a", "missing", "a"]).await?;
    check(removed == 1, || {
        format!("unwatch of a, missing, a: {removed}, expected 1")
    })?;
    let removed = remove(&["a"]).await?;
    check(removed == 0, || format!("unwatch of a again: {removed}"))?;
    let left = watched(state, 10).await?;
    let expected = vec![run("b", at(2, 0)), run("c", at(3, 0))];
    check(left == expected, || {
        format!("watched after unwatch: {left:?}, expected {expected:?}")
    })?;
    let count = len(state).await?;
    check(count == 2, || format!("watch_len: {count}, expected 2"))?;
    // Watched again after being taken off: a new since.
    add(state, &[run("a", at(20, 0))]).await?;
    let removed = remove(&["c", "b", "a"]).await?;
    check(removed == 3, || format!("unwatch of every run: {removed}"))?;
    let count = len(state).await?;
    check(count == 0, || format!("watch_len at the end: {count}"))
}

/// `a` and `b` are two scopes of one database; `a_again` is `a` asked for again.
async fn scopes(
    a: &dyn ReconcileState,
    b: &dyn ReconcileState,
    a_again: &dyn ReconcileState,
) -> Result<(), String> {
    a.set_watermark(at(100, 0))
        .await
        .map_err(|error| format!("set_watermark: {error}"))?;
    let other = b.watermark().await;
    check(other == Ok(None), || {
        format!("another scope's watermark was seen: {other:?}")
    })?;
    b.set_watermark(at(5, 0))
        .await
        .map_err(|error| format!("set_watermark: {error}"))?;
    let own = a_again.watermark().await;
    check(own == Ok(Some(at(100, 0))), || {
        format!("the scope's watermark, asked again: {own:?}")
    })?;
    // One run id in both scopes, with its own since in each.
    add(a, &[run("shared", at(1, 0)), run("only-a", at(2, 0))]).await?;
    add(b, &[run("shared", at(9, 0))]).await?;
    let in_b = watched(b, 10).await?;
    check(in_b == vec![run("shared", at(9, 0))], || {
        format!("the other scope's watch list: {in_b:?}")
    })?;
    let removed = b
        .unwatch(&ids(&["only-a", "shared"]))
        .await
        .map_err(|error| format!("unwatch: {error}"))?;
    check(removed == 1, || {
        format!("unwatch in the other scope counted {removed}, expected 1")
    })?;
    let in_a = watched(a_again, 10).await?;
    let expected = vec![run("shared", at(1, 0)), run("only-a", at(2, 0))];
    check(in_a == expected, || {
        format!("the scope's watch list, asked again: {in_a:?}, expected {expected:?}")
    })?;
    let counts = (len(a).await?, len(b).await?);
    check(counts == (2, 0), || {
        format!("watch_len of the two scopes: {counts:?}, expected (2, 0)")
    })
}
