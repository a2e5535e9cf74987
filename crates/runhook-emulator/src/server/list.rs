//! `GET /v1/runs`: filters (`status`, `goal`, `created_after`, `created_before`), order
//! (`sort_direction`), and cursor pagination (`cursor`, `limit` 1–100, default 20).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api_error::{ApiError, Issue, json_response};
use crate::model::{Run, RunStatus, run_summary};
use crate::state::Shared;
use crate::timefmt;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// The longest `goal` filter, in characters.
const MAX_GOAL_FILTER: usize = 500;

/// The query, checked.
#[derive(Debug, Default)]
struct Query {
    status: Option<RunStatus>,
    goal: Option<String>,
    after: Option<OffsetDateTime>,
    before: Option<OffsetDateTime>,
    descending: bool,
    cursor: Option<u64>,
    limit: Option<usize>,
}

/// The cursor of the page after the run with creation number `seq`. Opaque to clients.
fn cursor(seq: u64) -> String {
    format!("cur_{seq:x}")
}

fn parse_cursor(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("cur_")?, 16).ok()
}

fn parse_query(raw: &str) -> Result<Query, Vec<Issue>> {
    let mut query = Query {
        descending: true,
        ..Query::default()
    };
    let mut issues = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let path = vec![json!(name.as_ref())];
        match name.as_ref() {
            "status" => match RunStatus::parse(&value) {
                Some(status) => query.status = Some(status),
                None => issues.push(
                    Issue::new("invalid_value", path, "Invalid option: expected one of PENDING, RUNNING, COMPLETED, FAILED, CANCELLED")
                        .with("values", json!(RunStatus::ALL.map(RunStatus::as_str))),
                ),
            },
            "goal" if value.chars().count() > MAX_GOAL_FILTER => {
                issues.push(Issue::too_big(path, "string", MAX_GOAL_FILTER));
            }
            "goal" => query.goal = Some(value.to_lowercase()),
            "created_after" | "created_before" => match timefmt::parse(&value) {
                Some(t) if name == "created_after" => query.after = Some(t),
                Some(t) => query.before = Some(t),
                None => issues.push(
                    Issue::new("invalid_format", path, "Invalid ISO 8601 datetime")
                        .with("format", json!("datetime")),
                ),
            },
            "sort_direction" => match value.as_ref() {
                "asc" => query.descending = false,
                "desc" => query.descending = true,
                _ => issues.push(
                    Issue::new("invalid_value", path, "Invalid option: expected one of \"asc\"|\"desc\"")
                        .with("values", json!(["asc", "desc"])),
                ),
            },
            "cursor" => match parse_cursor(&value) {
                Some(seq) => query.cursor = Some(seq),
                None => issues.push(Issue::new("custom", path, "Invalid cursor")),
            },
            "limit" => match value.parse::<i64>() {
                Ok(n) if n < 1 => issues.push(
                    Issue::new("too_small", path, "Too small: expected number to be >=1")
                        .with("minimum", json!(1))
                        .with("origin", json!("number")),
                ),
                Ok(n) if n > MAX_LIMIT as i64 => issues.push(
                    Issue::new("too_big", path, format!("Too big: expected number to be <={MAX_LIMIT}"))
                        .with("maximum", json!(MAX_LIMIT))
                        .with("origin", json!("number")),
                ),
                Ok(n) => query.limit = usize::try_from(n).ok(),
                Err(_) => issues.push(Issue::invalid_type(path, "number", Some(&json!(value.as_ref())))),
            },
            _ => {}
        }
    }
    if issues.is_empty() {
        Ok(query)
    } else {
        Err(issues)
    }
}

fn matches(run: &Run, query: &Query) -> bool {
    query.status.is_none_or(|status| run.status == status)
        && query
            .goal
            .as_ref()
            .is_none_or(|goal| run.goal.to_lowercase().contains(goal))
        && query.after.is_none_or(|after| run.created_at > after)
        && query.before.is_none_or(|before| run.created_at < before)
}

/// The page of `runs` (in creation order) that `query` asks for.
fn page(mut runs: Vec<Run>, query: &Query) -> Value {
    runs.retain(|run| matches(run, query));
    let total = runs.len();
    if query.descending {
        runs.reverse();
    }
    let rest: Vec<Run> = match query.cursor {
        None => runs,
        Some(seq) => runs
            .into_iter()
            .filter(|run| {
                if query.descending {
                    run.seq < seq
                } else {
                    run.seq > seq
                }
            })
            .collect(),
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    let has_more = rest.len() > limit;
    let shown: Vec<&Run> = rest.iter().take(limit).collect();
    let next_cursor = match shown.last() {
        Some(last) if has_more => json!(cursor(last.seq)),
        _ => Value::Null,
    };
    json!({
        "data": shown.iter().map(|run| run_summary(run)).collect::<Vec<_>>(),
        "pagination": {"total": total, "next_cursor": next_cursor, "has_more": has_more},
    })
}

/// `GET /v1/runs`.
pub(super) async fn list_runs(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    match parse_query(raw.as_deref().unwrap_or_default()) {
        Ok(query) => json_response(StatusCode::OK, &page(shared.all(), &query)),
        Err(issues) => ApiError::invalid(issues).into_response(),
    }
}
