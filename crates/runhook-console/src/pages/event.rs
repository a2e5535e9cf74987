//! `GET /events/{key}`: one event: its row, its run, its raw body, its attempts, its actions.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use runhook::inbox::{InboxAttempt, InboxEntry, InboxState};
use runhook::store::IdempotencyKey;

use crate::layout::{self, Nav};
use crate::pages::run::{self, folded};
use crate::pages::{flash, query_fields};
use crate::state::{AppState, Shared};
use crate::text::path_segment;
use crate::timefmt::{age, duration, time_tag};

/// The name of a series of attempts: the first delivery, then each replay.
fn series_name(series: u32) -> String {
    match series {
        0 => "First delivery".to_owned(),
        n => format!("Replay {n}"),
    }
}

fn facts(entry: &InboxEntry, now: SystemTime) -> Markup {
    let state = entry.row_state();
    html! {
        dl.facts {
            dt { "State" } dd { (layout::badge(state.as_str())) }
            dt { "Event" } dd { (entry.event) }
            dt { "Run id" } dd { (entry.run_id.as_deref().unwrap_or("—")) }
            dt { "Key" } dd { code { (entry.key.as_str()) } }
            dt { "Received" } dd { (time_tag(entry.received_at)) " (" (age(now, entry.received_at)) " ago)" }
            dt { "Source" } dd { (entry.source) }
            dt { "Attempts" } dd { (entry.attempts) @if entry.replays > 0 { " (replayed " (entry.replays) @if entry.replays == 1 { " time)" } @else { " times)" } } }
            @if entry.state == InboxState::Pending {
                dt { "Next attempt" } dd { (time_tag(entry.next_at)) }
                @if entry.is_leased(now) { dt { "Now" } dd { "being processed by a worker" } }
            }
            @if let Some(finished) = entry.finished_at { dt { "Finished" } dd { (time_tag(finished)) } }
            @if let Some(error) = &entry.last_error { dt { "Last error" } dd { (error) } }
        }
    }
}

fn attempts(history: &[InboxAttempt]) -> Markup {
    let mut series: BTreeMap<u32, Vec<&InboxAttempt>> = BTreeMap::new();
    for attempt in history {
        series.entry(attempt.series).or_default().push(attempt);
    }
    html! {
        h2 { "Attempts" }
        @if series.is_empty() {
            p.muted { "No attempt has finished yet." }
        }
        @for (number, attempts) in &series {
            h3 { (series_name(*number)) }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Started" } th scope="col" { "Took" }
                    th scope="col" { "Outcome" } th scope="col" { "Error" } th scope="col" { "Next attempt" }
                } }
                tbody {
                    @for attempt in attempts {
                        tr data-series=(number) data-outcome=(attempt.outcome.as_str()) {
                            td { (attempt.attempt) }
                            td.nowrap { (time_tag(attempt.started_at)) }
                            td.nowrap { (duration(attempt.duration())) }
                            td { (layout::badge(attempt.outcome.as_str())) }
                            td.error-text { (attempt.error.as_deref().unwrap_or("—")) }
                            td.nowrap { @if let Some(next) = attempt.next_at { (time_tag(next)) } @else { "—" } }
                        }
                    }
                }
            } }
        }
    }
}

fn actions(shared: &Shared, entry: &InboxEntry) -> Markup {
    let key = path_segment(entry.key.as_str());
    html! {
        h2 { "Actions" }
        @if matches!(entry.state, InboxState::Done | InboxState::Dead) {
            div.actions {
                form method="post" action=(shared.url(&format!("/events/{key}/replay"))) {
                    (layout::csrf_field(shared))
                    button type="submit" data-action="replay" { "Replay" }
                }
                form method="post" action=(shared.url(&format!("/events/{key}/purge"))) {
                    (layout::csrf_field(shared))
                    button.danger type="submit" data-action="purge" { "Purge" }
                }
            }
            p.note { "Replay makes the event pending again (a new series of attempts). Purge deletes it and its history." }
        } @else {
            p.note { "Replay and purge are offered once the event is done or dead." }
        }
    }
}

fn raw_body(body: &[u8]) -> Markup {
    let text = String::from_utf8_lossy(body);
    html! {
        h2 { "Body as received" }
        @if std::str::from_utf8(body).is_err() {
            p.note { "The body is not valid UTF-8: invalid bytes are shown as �." }
        }
        (folded("Raw body", &text))
    }
}

/// `GET /events/{key}`.
pub(crate) async fn page(
    State(shared): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(inbox) = shared.inbox() else {
        return super::not_found(State(shared)).await;
    };
    let key = IdempotencyKey::new(key);
    let entry = match inbox.get(&key).await {
        Ok(Some(entry)) => entry,
        Ok(None) => {
            return layout::no_such_event(&shared);
        }
        Err(error) => return layout::store_error(&shared, &error),
    };
    let history = match inbox.attempts(&key).await {
        Ok(history) => history,
        Err(error) => return layout::store_error(&shared, &error),
    };
    let now = SystemTime::now();
    let body = html! {
        p { a href=(shared.url("/events")) { "← Events" } }
        h1 { "Event " code { (entry.key.as_str()) } }
        section.card { (facts(&entry, now)) }
        (run::section(&entry.body))
        section.card { (raw_body(&entry.body)) }
        section.card #history { (attempts(&history)) }
        section.card { (actions(&shared, &entry)) }
    };
    let message = flash(&query_fields(query.as_deref()));
    layout::html(
        StatusCode::OK,
        layout::page(
            &shared,
            &format!("Event {}", entry.key),
            Nav::Events,
            message.as_deref(),
            body,
        ),
    )
}
