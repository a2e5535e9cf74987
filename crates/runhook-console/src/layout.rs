//! The page shell every page is drawn in, and the responses pages share (redirects, errors).

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};
use maud::{DOCTYPE, Markup, html};

use crate::assets;
use crate::state::{Shared, Source};

/// Which navigation link is the current page's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Events,
    Deliveries,
    None,
}

/// A whole page: `title`, the navigation with `nav` marked current, `flash` said at the top, and
/// `body`.
pub(crate) fn page(
    shared: &Shared,
    title: &str,
    nav: Nav,
    flash: Option<&str>,
    body: Markup,
) -> Markup {
    let links: &[(Nav, &str, &str)] = match shared.source {
        Source::Inbox(_) => &[
            (Nav::Overview, "/", "Overview"),
            (Nav::Events, "/events", "Events"),
        ],
        Source::Inspector { .. } => &[(Nav::Deliveries, "/", "Deliveries")],
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · runhook console" }
                link rel="stylesheet" href=(assets::css_url(shared));
                script src=(assets::js_url(shared)) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href=(shared.url("/")) { "runhook" span { " console" } }
                    nav aria-label="Console" {
                        ul {
                            @for (target, path, label) in links {
                                li {
                                    @if *target == nav {
                                        a href=(shared.url(path)) aria-current="page" { (label) }
                                    } @else {
                                        a href=(shared.url(path)) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main {
                    @if let Some(flash) = flash {
                        p.flash role="status" { (flash) }
                    }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field of every form.
pub(crate) fn csrf_field(shared: &Shared) -> Markup {
    html! { input type="hidden" name="csrf" value=(shared.csrf); }
}

/// `markup` as an HTML response with `status`.
pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A 303 to `location` (a path of the console's own).
pub(crate) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// An error page: `status`, a heading and what went wrong.
pub(crate) fn error(shared: &Shared, status: StatusCode, heading: &str, message: &str) -> Response {
    let body = html! {
        section.card.narrow {
            h1 { (heading) }
            p { (message) }
            p { a href=(shared.url("/")) { "Back to the console" } }
        }
    };
    html(status, page(shared, heading, Nav::None, None, body))
}

/// The 403 of a form posted without the console's CSRF token.
pub(crate) fn forbidden(shared: &Shared) -> Response {
    error(
        shared,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "The form was posted without this console's CSRF token (or with a stale one, from \
         before the console restarted). Reload the page and try again.",
    )
}

/// The 404 page of an event key the inbox does not hold.
pub(crate) fn no_such_event(shared: &Shared) -> Response {
    self::error(
        shared,
        StatusCode::NOT_FOUND,
        "No such event",
        "The inbox holds no event of this key (it may have been purged).",
    )
}

/// The 503 of an inbox that did not answer.
pub(crate) fn store_error(shared: &Shared, error: &runhook::StoreError) -> Response {
    let message = format!(
        "The inbox did not answer: {}",
        runhook::endpoint::redact_url(&error.to_string())
    );
    self::error(
        shared,
        StatusCode::SERVICE_UNAVAILABLE,
        "Inbox unavailable",
        &message,
    )
}

/// A `<span class="badge …">` for a row state or an outcome.
pub(crate) fn badge(kind: &str) -> Markup {
    html! { span class={ "badge badge-" (kind) } { (kind) } }
}
