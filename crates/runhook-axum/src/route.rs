//! The webhook route: a [`Receiver`] served by axum.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use runhook_receiver::Receiver;

/// A route that hands every request to `receiver`: mount it with
/// `axum::Router::route(path, webhook_route(receiver))`.
///
/// It answers every method (a method other than `POST` gets 405 from the core), reads the raw
/// body with the receiver's limit (413 over it, without buffering the excess), deduplicates by
/// the receiver's idempotency key, calls the handler under the deadline and answers with the
/// status of docs/protocol.md §4.3 and a short JSON body. Works in a router of any state type.
pub fn webhook_route<S>(receiver: Receiver) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    any(webhook_handler).with_state(receiver)
}

/// The handler behind [`webhook_route`], taking the [`Receiver`] from the router's state: use it
/// when the receiver lives in your state (`Receiver: FromRef<YourState>`).
///
/// ```
/// use axum::extract::FromRef;
/// use axum::routing::any;
/// use runhook_axum::webhook_handler;
/// use runhook_receiver::{Receiver, Router};
///
/// #[derive(Clone)]
/// struct AppState {
///     receiver: Receiver,
///     // ... the rest of your state
/// }
///
/// impl FromRef<AppState> for Receiver {
///     fn from_ref(state: &AppState) -> Receiver {
///         state.receiver.clone()
///     }
/// }
///
/// let state = AppState { receiver: Receiver::new(Router::new()) };
/// let app: axum::Router = axum::Router::new()
///     .route("/webhooks/tinyfish", any(webhook_handler))
///     .with_state(state);
/// # drop(app);
/// ```
pub async fn webhook_handler(State(receiver): State<Receiver>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    receiver
        .receive_body(&parts.method, &parts.uri, &parts.headers, body)
        .await
        .into_http()
        .map(Body::from)
}
