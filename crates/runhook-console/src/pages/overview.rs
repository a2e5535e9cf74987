//! `GET /` of an inbox console: rows by state, the oldest pending row's age, activity.

use std::time::SystemTime;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use runhook::inbox::{ActivityWindow, RowState};

use crate::chart;
use crate::layout::{self, Nav};
use crate::state::AppState;
use crate::timefmt::{age, time_tag};

/// `GET /`: two inbox calls, `depth` and `activity`.
pub(crate) async fn page(State(shared): State<AppState>) -> Response {
    let Some(inbox) = shared.inbox() else {
        return super::not_found(State(shared)).await;
    };
    let now = SystemTime::now();
    let depth = match inbox.depth(now).await {
        Ok(depth) => depth,
        Err(error) => return layout::store_error(&shared, &error),
    };
    let activity = match inbox.activity(ActivityWindow::ending_at(now, 60)).await {
        Ok(activity) => activity,
        Err(error) => return layout::store_error(&shared, &error),
    };
    let pending = (depth.pending + depth.in_flight).saturating_sub(depth.retrying);
    let counts = [
        (
            RowState::Pending,
            pending,
            "waiting for their first attempt, or in it",
        ),
        (
            RowState::Retrying,
            depth.retrying,
            "failed, waiting to be tried again",
        ),
        (RowState::Done, depth.done, "processed"),
        (
            RowState::Dead,
            depth.dead,
            "given up; replay them once fixed",
        ),
    ];
    let events = shared.url("/events");
    let body = html! {
        h1 { "Overview" }
        section.counts aria-label="Events by state" {
            @for (state, count, meaning) in counts {
                a class={ "card count " (state.as_str()) } href={ (events) "?state=" (state.as_str()) }
                    data-count=(state.as_str()) {
                    strong { (count) }
                    span { (state.as_str()) }
                    br;
                    small.muted { (meaning) }
                }
            }
        }
        section.card {
            h2 { "Oldest pending event" }
            @if let Some(oldest) = depth.oldest_pending {
                p #oldest-pending { "Received " (age(now, oldest)) " ago (" (time_tag(oldest)) ")." }
            } @else {
                p #oldest-pending.muted { "None: nothing is waiting." }
            }
            @if depth.in_flight > 0 {
                p.muted { (depth.in_flight) " being processed by workers now." }
            }
        }
        section.card {
            h2 { "Last hour" }
            (chart::activity(&activity))
        }
    };
    layout::html(
        StatusCode::OK,
        layout::page(&shared, "Overview", Nav::Overview, None, body),
    )
}
