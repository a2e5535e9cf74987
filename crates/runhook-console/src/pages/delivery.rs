//! `GET /deliveries/{id}`: one delivery; `POST /deliveries/{id}/resend`: send it again through
//! the receiver.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Request, StatusCode};
use maud::html;
use tower::ServiceExt;

use crate::csrf::{self, FormFields};
use crate::inspector::{InspectedDelivery, RecordedId, redact};
use crate::layout::{self, Nav};
use crate::pages::inspector::inspector;
use crate::pages::run::folded;
use crate::pages::{flash, query_fields};
use crate::state::{AppState, Shared, Source};
use crate::timefmt::{duration, time_tag};

/// How long a delivery sent again may take before the console gives up waiting.
const RESEND_TIMEOUT: Duration = Duration::from_secs(30);

fn gone(shared: &Shared) -> Response {
    layout::error(
        shared,
        StatusCode::NOT_FOUND,
        "No such delivery",
        "The inspector does not keep this delivery (it keeps the newest ones only).",
    )
}

fn find(shared: &Shared, id: &str) -> Option<InspectedDelivery> {
    let id = id.parse::<u64>().ok()?;
    inspector(shared)?.delivery(id)
}

fn body_section(delivery: &InspectedDelivery) -> maud::Markup {
    let text = String::from_utf8_lossy(&delivery.body);
    html! {
        h2 { "Body" }
        @if delivery.truncated {
            p.note #truncated { "truncated: " (delivery.body.len()) " of " (delivery.body_len) " bytes kept" }
        }
        @if !delivery.body_complete {
            p.note { "The receiver did not read the whole body: only what it read is shown." }
        }
        @if std::str::from_utf8(&delivery.body).is_err() {
            p.note { "The body is not valid UTF-8: invalid bytes are shown as �." }
        }
        @if delivery.body.is_empty() { p.muted { "Empty." } } @else { (folded("Body", &text)) }
    }
}

/// `GET /deliveries/{id}`.
pub(crate) async fn page(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(delivery) = find(&shared, &id) else {
        return gone(&shared);
    };
    let refusal = delivery.resend_refusal();
    let body = html! {
        p { a href=(shared.url("/")) { "← Deliveries" } }
        h1 { "InspectedDelivery " (delivery.id) }
        section.card {
            dl.facts {
                dt { "Received" } dd { (time_tag(delivery.received_at)) }
                dt { "Request" } dd { code { (delivery.method.as_str()) " " (redact::path(&delivery.path)) } }
                dt { "Status" } dd #status { (delivery.status) }
                dt { "Outcome" } dd { @match delivery.outcome.as_deref() { Some(o) => (layout::badge(o)), None => "—" } }
                dt { "Reason" } dd { (delivery.reason.as_deref().unwrap_or("—")) }
                dt { "Latency" } dd { (duration(delivery.latency)) }
                dt { "Body size" } dd { (delivery.body_len) " bytes" }
            }
        }
        section.card {
            h2 { "Headers" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Value" } } }
                tbody {
                    @for (name, value) in &delivery.headers {
                        tr { td { code { (name.as_str()) } } td.error-text { (redact::header_value(name, value)) } }
                    }
                }
            } }
        }
        section.card { (body_section(&delivery)) }
        section.card {
            h2 { "Send again" }
            form method="post" action=(shared.url(&format!("/deliveries/{}/resend", delivery.id))) {
                (layout::csrf_field(&shared))
                @if let Some(refusal) = refusal {
                    button type="submit" data-action="resend" disabled aria-describedby="resend-why" { "Send again" }
                    p.note #resend-why { "It cannot be sent again: " (refusal) "." }
                } @else {
                    button type="submit" data-action="resend" { "Send again" }
                    p.note { "Posts the same request (query, headers, body) to the receiver again, in-process." }
                }
            }
        }
    };
    let message = flash(&query_fields(query.as_deref()));
    layout::html(
        StatusCode::OK,
        layout::page(
            &shared,
            &format!("InspectedDelivery {}", delivery.id),
            Nav::Deliveries,
            message.as_deref(),
            body,
        ),
    )
}

/// The request that sends `delivery` again at `webhook_path`, with its query and headers.
fn replay_request(delivery: &InspectedDelivery, webhook_path: &str) -> Option<Request<Body>> {
    let query = delivery.path.split_once('?').map(|(_, query)| query);
    let uri = match query {
        Some(query) => format!("{webhook_path}?{query}"),
        None => webhook_path.to_owned(),
    };
    let mut request = Request::builder()
        .method(delivery.method.clone())
        .uri(uri)
        .body(Body::from(delivery.body.clone()))
        .ok()?;
    let headers = request.headers_mut();
    for (name, value) in &delivery.headers {
        if name != CONTENT_LENGTH && name != TRANSFER_ENCODING && name != CONNECTION {
            headers.append(name, value.clone());
        }
    }
    headers.insert(CONTENT_LENGTH, delivery.body.len().into());
    Some(request)
}

/// `POST /deliveries/{id}/resend`.
pub(crate) async fn resend(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if !csrf::matches(&shared.csrf, FormFields::parse(&body).get("csrf")) {
        return layout::forbidden(&shared);
    }
    let Source::Inspector {
        receiver,
        webhook_path,
        ..
    } = &shared.source
    else {
        return gone(&shared);
    };
    let Some(delivery) = find(&shared, &id) else {
        return gone(&shared);
    };
    let here = shared.url(&format!("/deliveries/{}", delivery.id));
    if delivery.resend_refusal().is_some() {
        return layout::redirect(&format!("{here}?done=not-resendable"));
    }
    let Some(request) = replay_request(&delivery, webhook_path) else {
        return layout::error(
            &shared,
            StatusCode::BAD_REQUEST,
            "Cannot send again",
            "The recorded request does not make a valid request again.",
        );
    };
    let response =
        match tokio::time::timeout(RESEND_TIMEOUT, receiver.clone().oneshot(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(_) => {
                return layout::error(
                    &shared,
                    StatusCode::GATEWAY_TIMEOUT,
                    "No answer",
                    "The receiver did not answer the delivery sent again within 30 seconds.",
                );
            }
        };
    match response.extensions().get::<RecordedId>() {
        Some(RecordedId(new)) => layout::redirect(&format!(
            "{}?done=resent",
            shared.url(&format!("/deliveries/{new}"))
        )),
        None => layout::redirect(&format!(
            "{here}?done=resent-unrecorded&n={}",
            response.status().as_u16()
        )),
    }
}
