//! `POST /events/replay`: replay every dead event matching the filters, after a confirmation
//! that states how many.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use runhook::inbox::{BROWSE_LIMIT_MAX, BrowseQuery, RowState};

use crate::csrf::{self, FormFields};
use crate::layout::{self, Nav};
use crate::pages::events::{EventFilter, with_query};
use crate::state::AppState;

/// `POST /events/replay`: without `confirmed=1`, the confirmation page (with the count); with
/// it, the replay, then back to the dead events with a message.
pub(crate) async fn replay_matching(State(shared): State<AppState>, body: Bytes) -> Response {
    let form = FormFields::parse(&body);
    if !csrf::matches(&shared.csrf, form.get("csrf")) {
        return layout::forbidden(&shared);
    }
    let Some(inbox) = shared.inbox() else {
        return super::not_found(State(shared)).await;
    };
    let filter = match EventFilter::parse(&form) {
        Ok(filter) => EventFilter {
            state: Some(RowState::Dead),
            before: None,
            ..filter
        },
        Err(problem) => {
            return layout::error(&shared, StatusCode::BAD_REQUEST, "Bad request", &problem);
        }
    };
    let table = with_query(shared.url("/events"), &filter.query(false));
    if form.get("confirmed") == Some("1") {
        return match inbox
            .replay_dead_matching(&filter.row_filter(), SystemTime::now())
            .await
        {
            Ok(count) => layout::redirect(&format!("{table}&done=bulk&n={count}")),
            Err(error) => layout::store_error(&shared, &error),
        };
    }
    let query = BrowseQuery::newest(BROWSE_LIMIT_MAX)
        .in_state(RowState::Dead)
        .matching(filter.row_filter());
    let count = match inbox.browse(&query).await {
        Ok(rows) => rows.len(),
        Err(error) => return layout::store_error(&shared, &error),
    };
    let how_many = if count >= BROWSE_LIMIT_MAX {
        format!("{BROWSE_LIMIT_MAX} or more")
    } else {
        count.to_string()
    };
    let body = html! {
        section.card.narrow {
            h1 { "Replay dead events?" }
            @if count == 0 {
                p { "No dead event matches these filters: there is nothing to replay." }
            } @else {
                p {
                    "This makes " strong #replay-count { (how_many) }
                    @if count == 1 { " dead event" } @else { " dead events" }
                    " pending again; the workers process them anew."
                }
            }
            dl.facts {
                dt { "Event" } dd { (filter.event.as_deref().unwrap_or("any")) }
                dt { "Run id starts with" } dd { (filter.run_id.as_deref().unwrap_or("any")) }
            }
            div.actions {
                @if count > 0 {
                    form method="post" action=(shared.url("/events/replay")) {
                        (layout::csrf_field(&shared))
                        input type="hidden" name="confirmed" value="1";
                        input type="hidden" name="event" value=(filter.event.as_deref().unwrap_or_default());
                        input type="hidden" name="run_id" value=(filter.run_id.as_deref().unwrap_or_default());
                        button type="submit" data-action="confirm-replay" { "Replay " (how_many) }
                    }
                }
                a href=(table) { "Cancel" }
            }
        }
    };
    layout::html(
        StatusCode::OK,
        layout::page(&shared, "Replay dead events", Nav::Events, None, body),
    )
}
