//! `GET /events`: the events table, newest first, with filters, pages and live updates; and
//! `GET /events/stream`, its live rows.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use runhook::inbox::{BrowseQuery, InboxEntry, RowFilter, RowState};
use url::form_urlencoded;

use crate::csrf::FormFields;
use crate::cursor::Cursor;
use crate::layout::{self, Nav};
use crate::pages::{flash, query_fields};
use crate::state::{AppState, Shared};
use crate::stream;
use crate::text::{path_segment, shorten};
use crate::timefmt::time_tag;

/// The longest filter value accepted.
const MAX_FILTER: usize = 256;

/// The event names offered in the filter's list (any other can be typed).
const KNOWN_EVENTS: [&str; 3] = ["run.completed", "run.failed", "run.cancelled"];

/// The table's filters and page, from the query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EventFilter {
    pub(crate) state: Option<RowState>,
    pub(crate) event: Option<String>,
    pub(crate) run_id: Option<String>,
    pub(crate) before: Option<Cursor>,
}

impl EventFilter {
    /// The filter of a query string or form, or what is wrong with it.
    pub(crate) fn parse(fields: &FormFields) -> Result<Self, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            match fields.get(name).map(str::trim) {
                None | Some("") => Ok(None),
                Some(value) if value.chars().count() > MAX_FILTER => Err(format!(
                    "the filter `{name}` is longer than {MAX_FILTER} characters"
                )),
                Some(value) => Ok(Some(value.to_owned())),
            }
        };
        let state = text("state")?
            .map(|state| state.parse::<RowState>())
            .transpose()?;
        let before = fields
            .get("before")
            .filter(|before| !before.is_empty())
            .map(|before| Cursor::decode(before).map_err(|e| format!("bad page cursor: {e}")))
            .transpose()?;
        Ok(EventFilter {
            state,
            event: text("event")?,
            run_id: text("run_id")?,
            before,
        })
    }

    /// The conditions on the event and run, whatever the state.
    pub(crate) fn row_filter(&self) -> RowFilter {
        let mut filter = RowFilter::all();
        if let Some(event) = &self.event {
            filter = filter.with_event(event.clone());
        }
        if let Some(run_id) = &self.run_id {
            filter = filter.with_run_id_prefix(run_id.clone());
        }
        filter
    }

    /// The browse of up to `limit` rows of this filter and page.
    fn browse(&self, limit: usize) -> BrowseQuery {
        let mut query = BrowseQuery::newest(limit).matching(self.row_filter());
        if let Some(state) = self.state {
            query = query.in_state(state);
        }
        query.before = self
            .before
            .as_ref()
            .map(|cursor| (cursor.received_at, cursor.key.clone()));
        query
    }

    /// The filter as a query string (with its page cursor if `with_page`).
    pub(crate) fn query(&self, with_page: bool) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = self.state {
            query.append_pair("state", state.as_str());
        }
        if let Some(event) = &self.event {
            query.append_pair("event", event);
        }
        if let Some(run_id) = &self.run_id {
            query.append_pair("run_id", run_id);
        }
        if with_page && let Some(before) = &self.before {
            query.append_pair("before", &before.encode());
        }
        query.finish()
    }
}

/// `path?query`, without the `?` when the query is empty.
pub(crate) fn with_query(path: String, query: &str) -> String {
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

/// The URL of the event page of `key`.
pub(crate) fn event_url(shared: &Shared, key: &str) -> String {
    shared.url(&format!("/events/{}", path_segment(key)))
}

/// The table's rows (the `<tbody>`'s inner HTML); `back` is the table's query, for the replay
/// forms to come back to.
pub(crate) fn rows(shared: &Shared, entries: &[InboxEntry], back: &str) -> Markup {
    html! {
        @for entry in entries {
            @let state = entry.row_state();
            @let key = entry.key.as_str();
            tr data-run-id=(entry.run_id.as_deref().unwrap_or_default())
                data-state=(state.as_str()) data-key=(key) {
                td.nowrap { (time_tag(entry.received_at)) }
                td { (entry.event) }
                td { (entry.run_id.as_deref().unwrap_or("—")) }
                td { (layout::badge(state.as_str())) }
                td {
                    (entry.attempts)
                    @if entry.replays > 0 { span.muted { " · replay " (entry.replays) } }
                }
                td.error-text { (shorten(entry.last_error.as_deref().unwrap_or_default(), 160)) }
                td.nowrap {
                    div.actions {
                        a href=(event_url(shared, key)) aria-label={ "Open event " (key) } { "Open" }
                        @if matches!(state, RowState::Done | RowState::Dead) {
                            form.inline method="post"
                                action=(shared.url(&format!("/events/{}/replay", path_segment(key)))) {
                                (layout::csrf_field(shared))
                                input type="hidden" name="back" value=(back);
                                button.secondary type="submit" data-action="replay"
                                    aria-label={ "Replay event " (key) } { "Replay" }
                            }
                        }
                    }
                }
            }
        }
        @if entries.is_empty() {
            tr { td colspan="7" .muted { "No events match." } }
        }
    }
}

/// The filter form.
fn filters(action: &str, filter: &EventFilter) -> Markup {
    html! {
        form.filters.card method="get" action=(action) role="search" aria-label="Filter events" {
            div {
                label for="f-state" { "State" }
                select #f-state name="state" {
                    option value="" selected[filter.state.is_none()] { "Any" }
                    @for state in RowState::ALL {
                        option value=(state.as_str()) selected[filter.state == Some(state)] {
                            (state.as_str())
                        }
                    }
                }
            }
            div {
                label for="f-event" { "Event" }
                input #f-event name="event" list="known-events" placeholder="run.completed"
                    value=(filter.event.as_deref().unwrap_or_default());
                datalist #known-events { @for name in KNOWN_EVENTS { option value=(name) {} } }
            }
            div {
                label for="f-run" { "Run id starts with" }
                input #f-run name="run_id" value=(filter.run_id.as_deref().unwrap_or_default());
            }
            button type="submit" { "Filter" }
        }
    }
}

/// `GET /events`.
pub(crate) async fn page(State(shared): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(inbox) = shared.inbox() else {
        return super::not_found(State(shared)).await;
    };
    let fields = query_fields(query.as_deref());
    let filter = match EventFilter::parse(&fields) {
        Ok(filter) => filter,
        Err(problem) => {
            return layout::error(&shared, StatusCode::BAD_REQUEST, "Bad request", &problem);
        }
    };
    let size = shared.page_size;
    let mut entries = match inbox.browse(&filter.browse(size + 1)).await {
        Ok(entries) => entries,
        Err(error) => return layout::store_error(&shared, &error),
    };
    let older = (entries.len() > size).then(|| {
        entries.truncate(size);
        entries.last().map(|last| Cursor {
            received_at: last.received_at,
            key: last.key.clone(),
        })
    });
    let older = older.flatten().map(|cursor| EventFilter {
        before: Some(cursor),
        ..filter.clone()
    });
    let events_url = shared.url("/events");
    let first_page = filter.before.is_none();
    let stream_url = with_query(shared.url("/events/stream"), &filter.query(false));
    let body = html! {
        h1 { "Events" }
        (filters(&events_url, &filter))
        @if filter.state == Some(RowState::Dead) {
            form.card.actions method="post" action=(shared.url("/events/replay")) {
                (layout::csrf_field(&shared))
                input type="hidden" name="event" value=(filter.event.as_deref().unwrap_or_default());
                input type="hidden" name="run_id" value=(filter.run_id.as_deref().unwrap_or_default());
                span { "Make every dead event that matches these filters pending again." }
                button.secondary type="submit" data-action="replay-all" { "Replay all matching…" }
            }
        }
        @if first_page {
            p.live #live-status aria-live="polite" data-live="off" { "Live updates start when the page has loaded." }
        }
        div.table-wrap {
            table {
                caption.muted { @if first_page { "Newest first" } @else { "Older events" } }
                thead { tr {
                    th scope="col" { "Received" } th scope="col" { "Event" } th scope="col" { "Run" }
                    th scope="col" { "State" } th scope="col" { "Attempts" }
                    th scope="col" { "Last error" } th scope="col" { span.muted { "Actions" } }
                } }
                @if first_page {
                    tbody #rows data-stream=(stream_url) { (rows(&shared, &entries, &filter.query(true))) }
                } @else {
                    tbody #rows { (rows(&shared, &entries, &filter.query(true))) }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if !first_page {
                a href=(with_query(events_url.clone(), &filter.query(false))) { "Newest" }
            }
            @if let Some(older) = older {
                a href=(with_query(events_url.clone(), &older.query(true))) rel="next" { "Older" }
            }
        }
    };
    let message = flash(&fields);
    layout::html(
        StatusCode::OK,
        layout::page(&shared, "Events", Nav::Events, message.as_deref(), body),
    )
}

/// `GET /events/stream`: the first page of the table, as it changes.
pub(crate) async fn stream(State(shared): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let Some(inbox) = shared.inbox().cloned() else {
        return super::not_found(State(shared)).await;
    };
    let filter = match EventFilter::parse(&query_fields(query.as_deref())) {
        Ok(filter) => EventFilter {
            before: None,
            ..filter
        },
        Err(problem) => {
            return layout::error(&shared, StatusCode::BAD_REQUEST, "Bad request", &problem);
        }
    };
    let browse = filter.browse(shared.page_size);
    let back = filter.query(false);
    let render_shared = shared.clone();
    stream::rows(&shared, move || {
        let (inbox, browse, back, shared) = (
            inbox.clone(),
            browse.clone(),
            back.clone(),
            render_shared.clone(),
        );
        async move {
            let entries = inbox.browse(&browse).await.ok()?;
            Some(rows(&shared, &entries, &back).into_string())
        }
    })
}
