//! `runhook inbox retry --pending [--filter …]`: make the pending rows that wait for a later
//! attempt due now, through [`Inbox::retry_pending`].

use std::time::SystemTime;

use anyhow::Context;
use runhook::inbox::{Inbox, RowFilter};
use runhook::store::IdempotencyKey;

use crate::exit::Exit;
use crate::out;

/// One `--filter` condition, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Condition {
    /// `key=KEY`: the row of this key.
    Key(String),
    /// `run_id=PREFIX`: rows whose run_id starts with PREFIX.
    RunIdPrefix(String),
    /// `event=NAME`: rows of this event.
    Event(String),
}

/// The forms `--filter` takes, for its help and its errors.
pub(super) const FORMS: &str = "key=KEY, run_id=PREFIX or event=NAME";

/// Parses one `--filter`: `key=KEY`, `run_id=PREFIX` or `event=NAME`.
pub(super) fn parse_condition(text: &str) -> Result<Condition, String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("{text:?} is not a filter: use {FORMS}"));
    };
    if value.is_empty() {
        return Err(format!("the filter {name:?} needs a value: use {FORMS}"));
    }
    match name.trim() {
        "key" => Ok(Condition::Key(value.to_owned())),
        "run_id" => Ok(Condition::RunIdPrefix(value.to_owned())),
        "event" => Ok(Condition::Event(value.to_owned())),
        other => Err(format!("unknown filter {other:?}: use {FORMS}")),
    }
}

/// The inbox's filter of `conditions` (all must hold; a later condition of one name replaces an
/// earlier one).
fn filter(conditions: Vec<Condition>) -> RowFilter {
    conditions
        .into_iter()
        .fold(RowFilter::all(), |filter, condition| match condition {
            Condition::Key(key) => filter.with_key(IdempotencyKey::new(key)),
            Condition::RunIdPrefix(prefix) => filter.with_run_id_prefix(prefix),
            Condition::Event(event) => filter.with_event(event),
        })
}

/// Makes the waiting pending rows of `conditions` due now; prints how many.
pub(super) async fn retry_pending(
    inbox: &dyn Inbox,
    conditions: Vec<Condition>,
    json: bool,
) -> anyhow::Result<Exit> {
    let count = inbox
        .retry_pending(&filter(conditions), SystemTime::now())
        .await
        .context("cannot retry the pending rows")?;
    let line = if json {
        serde_json::json!({ "kind": "retried", "rows": count }).to_string()
    } else {
        format!("made {count} waiting pending row(s) due now")
    };
    out::line(&line)?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_a_key_a_run_id_prefix_or_an_event() {
        assert_eq!(
            parse_condition("run_id=batch-7-"),
            Ok(Condition::RunIdPrefix("batch-7-".into()))
        );
        assert_eq!(
            parse_condition("event=run.failed"),
            Ok(Condition::Event("run.failed".into()))
        );
        assert_eq!(parse_condition("key=a=b"), Ok(Condition::Key("a=b".into())));
        let unknown = parse_condition("status=FAILED").unwrap_err();
        assert!(
            unknown.starts_with("unknown filter \"status\""),
            "{unknown}"
        );
        for bad in ["run_id", "event=", ""] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
        let filter = filter(vec![
            Condition::RunIdPrefix("a".into()),
            Condition::Event("run.completed".into()),
        ]);
        assert_eq!(
            filter,
            RowFilter::all()
                .with_run_id_prefix("a")
                .with_event("run.completed")
        );
    }
}
