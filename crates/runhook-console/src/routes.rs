//! The console's routes, and the layers every response goes through.

use axum::Router;
use axum::middleware::{from_fn_with_state, map_response};
use axum::routing::{get, post};

use crate::state::{AppState, Source};
use crate::{assets, auth, headers, pages};

/// The router of a console: its pages behind the token check (if any), the login page and the
/// assets open, and the security headers on every response.
pub(crate) fn router(shared: AppState) -> Router {
    let pages: Router<AppState> = match &shared.source {
        Source::Inbox(_) => Router::new()
            .route("/", get(pages::overview::page))
            .route("/events", get(pages::events::page))
            .route("/events/stream", get(pages::events::stream))
            .route("/events/replay", post(pages::bulk::replay_matching))
            .route("/events/{key}", get(pages::event::page))
            .route("/events/{key}/replay", post(pages::actions::replay))
            .route("/events/{key}/purge", post(pages::actions::purge)),
        Source::Inspector { .. } => Router::new()
            .route("/", get(pages::inspector::list))
            .route("/deliveries/stream", get(pages::inspector::stream))
            .route("/deliveries/{id}", get(pages::delivery::page))
            .route("/deliveries/{id}/resend", post(pages::delivery::resend)),
    };
    pages
        .route_layer(from_fn_with_state(shared.clone(), auth::require))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/assets/console.css", get(assets::css))
        .route("/assets/console.js", get(assets::js))
        .fallback(pages::not_found)
        .layer(map_response(headers::secure))
        .with_state(shared)
}
