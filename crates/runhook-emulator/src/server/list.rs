//! `GET /v1/runs`: filters (`status`, `goal`, `created_after`, `created_before`), order
//! (`sort_direction`), and cursor pagination (`cursor`, `limit` 1–100, default 20).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_error::{ApiError, Issue, json_response};
use runhook::RunStatus;
use runhook::api::{ListPage, Pagination};

use crate::model::run_summary;
use crate::runs::{ListQuery as Query, Page};
use crate::state::Shared;
use crate::timefmt;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// The longest `goal` filter, in characters.
const MAX_GOAL_FILTER: usize = 500;

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
            "status" => match RunStatus::from_wire(&value) {
                status if status.is_recognized() => query.status = Some(status),
                _ => {
                    let values: Vec<&str> =
                        RunStatus::KNOWN.iter().map(RunStatus::as_str).collect();
                    let message = format!("Invalid option: expected one of {}", values.join(", "));
                    issues.push(
                        Issue::new("invalid_value", path, message).with("values", json!(values)),
                    );
                }
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
                    Issue::new(
                        "invalid_value",
                        path,
                        "Invalid option: expected one of \"asc\"|\"desc\"",
                    )
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
                    Issue::new(
                        "too_big",
                        path,
                        format!("Too big: expected number to be <={MAX_LIMIT}"),
                    )
                    .with("maximum", json!(MAX_LIMIT))
                    .with("origin", json!("number")),
                ),
                Ok(n) => query.limit = usize::try_from(n).ok(),
                Err(_) => issues.push(Issue::invalid_type(
                    path,
                    "number",
                    Some(&json!(value.as_ref())),
                )),
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

/// The answer of `page`: its runs as the list shows them, and where the listing goes on.
fn page_answer(page: &Page) -> ListPage<Value> {
    ListPage::new(
        page.runs.iter().map(run_summary).collect(),
        Pagination::new(
            u64::try_from(page.total).unwrap_or(u64::MAX),
            page.next.map(cursor),
        ),
    )
}

/// `GET /v1/runs`.
pub(super) async fn list_runs(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
) -> Response {
    match parse_query(raw.as_deref().unwrap_or_default()) {
        Ok(query) => {
            let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
            match shared.page(query, limit).await {
                Ok(page) => json_response(StatusCode::OK, &page_answer(&page)),
                Err(error) => {
                    ApiError::internal(format!("Cannot list the runs: {error}")).into_response()
                }
            }
        }
        Err(issues) => ApiError::invalid(issues).into_response(),
    }
}
