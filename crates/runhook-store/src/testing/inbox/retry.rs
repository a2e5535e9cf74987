//! The case of [`Inbox::retry_pending`]: waiting rows pulled forward, and nothing else touched.

use runhook::inbox::{Inbox, InboxState, RowFilter, Settlement};

use super::{Case, check};

/// Rows waiting for a later attempt become due at once, as the filter selects them; rows held
/// under a lease, rows already due, done and dead rows are left alone.
pub(super) async fn retry_pending<I: Inbox + 'static>(c: &Case<I>) -> Result<(), String> {
    // Five rows that will wait (two of run `alpha-…`, one `beta`, one without a run, one of
    // another event), one held, one due already, one done, one dead.
    c.insert_new(c.record("w-alpha-1", Some("alpha-1"), 0))
        .await?;
    c.insert_new(c.record("w-alpha-2", Some("alpha-2"), 0))
        .await?;
    c.insert_new(c.record("w-beta", Some("beta"), 0)).await?;
    c.insert_new(c.record("w-norun", None, 0)).await?;
    let mut failed = c.record("w-failed", None, 0);
    failed.event = "run.failed".into();
    c.insert_new(failed).await?;
    for name in ["held", "done", "dead"] {
        c.insert_new(c.record(name, None, 0)).await?;
    }
    let claims = c.claim(c.at(1), 10).await?;
    check(claims.len() == 8, || {
        format!("expected 8 claims, got {}", claims.len())
    })?;
    for claim in &claims {
        let name = claim
            .entry
            .key
            .as_str()
            .trim_start_matches(c.namespace.as_str());
        let settlement = match name {
            "held" => continue,
            "done" => Settlement::Done,
            "dead" => Settlement::Dead {
                error: "refused".into(),
            },
            _ => Settlement::Retry {
                at: c.at(1000),
                error: "the app is down".into(),
            },
        };
        c.settle(claim, c.at(2), settlement).await?;
    }
    // Due already: inserted after the claims, due at its receipt.
    c.insert_new(c.record("due", None, 3)).await?;

    let retried = |filter: RowFilter, secs| async move {
        c.inbox
            .retry_pending(&filter, c.at(secs))
            .await
            .map_err(|error| format!("retry_pending: {error}"))
    };
    let prefix = format!("{}alpha-", c.namespace);
    let count = retried(RowFilter::all().with_run_id_prefix(prefix), 4).await?;
    check(count == 2, || {
        format!("run_id prefix: {count} rows, expected 2")
    })?;
    let count = retried(RowFilter::all().with_event("run.failed"), 4).await?;
    check(count == 1, || format!("event: {count} rows, expected 1"))?;
    let count = retried(RowFilter::all().with_key(c.key("w-beta")), 4).await?;
    check(count == 1, || format!("key: {count} rows, expected 1"))?;
    for name in ["w-alpha-1", "w-alpha-2", "w-failed", "w-beta"] {
        let entry = c.get(name).await?;
        check(
            entry.next_at == c.at(4)
                && entry.attempts == 1
                && entry.last_error.as_deref() == Some("the app is down"),
            || format!("{name} after retry_pending: {entry:?}"),
        )?;
    }
    let norun = c.get("w-norun").await?;
    check(norun.next_at == c.at(1000), || {
        format!("a row no filter selected was moved: {norun:?}")
    })?;
    // Everything left: only the row without a run was still waiting.
    let count = retried(RowFilter::all(), 5).await?;
    check(count == 1, || format!("all: {count} rows, expected 1"))?;
    let count = retried(RowFilter::all(), 5).await?;
    check(count == 0, || {
        format!("all again: {count} rows, expected 0")
    })?;
    let held = c.get("held").await?;
    check(
        held.lease_until.is_some() && held.next_at == c.at(0),
        || format!("a held row was touched: {held:?}"),
    )?;
    for (name, state) in [("done", InboxState::Done), ("dead", InboxState::Dead)] {
        let entry = c.get(name).await?;
        check(entry.state == state && entry.next_at == c.at(0), || {
            format!("a {state} row was touched: {entry:?}")
        })?;
    }
    let due = c.get("due").await?;
    check(due.next_at == c.at(3), || {
        format!("a row already due was moved: {due:?}")
    })?;
    // Pulled-forward rows are claimed at once, earliest due first.
    let names = [
        "due",
        "w-alpha-1",
        "w-alpha-2",
        "w-beta",
        "w-failed",
        "w-norun",
    ];
    let mut expected: Vec<&str> = names.to_vec();
    expected[1..5].sort_by_key(|name| c.key(name));
    c.claim_exactly(c.at(5), 10, &expected).await.map(drop)
}
