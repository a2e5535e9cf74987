//! `GET /` of an inspector console: the deliveries table, newest first, live; and
//! `GET /deliveries/stream`, its live rows.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};

use crate::inspector::{InspectedDelivery, Inspector, redact};
use crate::layout::{self, Nav};
use crate::state::{AppState, Shared, Source};
use crate::stream;
use crate::timefmt::{duration, time_tag};

/// The inspector of an inspector console.
pub(crate) fn inspector(shared: &Shared) -> Option<&Inspector> {
    match &shared.source {
        Source::Inspector { inspector, .. } => Some(inspector),
        Source::Inbox(_) => None,
    }
}

/// The table's rows (the `<tbody>`'s inner HTML).
fn rows(shared: &Shared, deliveries: &[Arc<InspectedDelivery>]) -> Markup {
    html! {
        @for delivery in deliveries {
            @let outcome = delivery.outcome.as_deref().unwrap_or_default();
            @let url = shared.url(&format!("/deliveries/{}", delivery.id));
            tr data-delivery-id=(delivery.id) data-status=(delivery.status) data-outcome=(outcome) {
                td.nowrap { (time_tag(delivery.received_at)) }
                td { (delivery.method.as_str()) }
                td.error-text { code { (redact::path(&delivery.path)) } }
                td { (delivery.status) }
                td { @if outcome.is_empty() { "—" } @else { (layout::badge(outcome)) } }
                td.nowrap { (duration(delivery.latency)) }
                td { a href=(url) aria-label={ "Open delivery " (delivery.id) } { "Open" } }
            }
        }
        @if deliveries.is_empty() {
            tr { td colspan="7" .muted { "No delivery yet: post a webhook to the receiver." } }
        }
    }
}

/// `GET /`: the newest deliveries (a page's worth).
pub(crate) async fn list(State(shared): State<AppState>) -> Response {
    let Some(inspector) = inspector(&shared) else {
        return super::not_found(State(shared)).await;
    };
    let deliveries = inspector.newest(shared.page_size);
    let limits = inspector.limits();
    let body = html! {
        h1 { "Deliveries" }
        p.muted {
            "The requests this receiver got, newest first (the newest " (shared.page_size)
            " shown; up to " (limits.max_deliveries) " kept in memory)."
        }
        p.live #live-status aria-live="polite" data-live="off" { "Live updates start when the page has loaded." }
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Received" } th scope="col" { "Method" } th scope="col" { "Path" }
                    th scope="col" { "Status" } th scope="col" { "Outcome" } th scope="col" { "Latency" }
                    th scope="col" { span.muted { "Details" } }
                } }
                tbody #rows data-stream=(shared.url("/deliveries/stream")) { (rows(&shared, &deliveries)) }
            }
        }
    };
    layout::html(
        StatusCode::OK,
        layout::page(&shared, "Deliveries", Nav::Deliveries, None, body),
    )
}

/// `GET /deliveries/stream`: the table's rows, as they change.
pub(crate) async fn stream(State(shared): State<AppState>) -> Response {
    let Some(inspector) = inspector(&shared).cloned() else {
        return super::not_found(State(shared)).await;
    };
    let render_shared = shared.clone();
    stream::rows(&shared, move || {
        let rendered =
            rows(&render_shared, &inspector.newest(render_shared.page_size)).into_string();
        std::future::ready(Some(rendered))
    })
}
