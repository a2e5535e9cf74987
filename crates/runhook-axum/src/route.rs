//! The webhook route: a [`Receiver`] served by axum.

use axum::body::Body;
use axum::extract::{FromRef, RawPathParams, Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use runhook_receiver::{PathParams, Receiver};

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
/// use runhook_receiver::{Receiver, Handlers};
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
/// let state = AppState { receiver: Receiver::new(Handlers::new()) };
/// let app: axum::Router = axum::Router::new()
///     .route("/webhooks/tinyfish", any(webhook_handler))
///     .with_state(state);
/// # drop(app);
/// ```
pub async fn webhook_handler(
    State(receiver): State<Receiver>,
    params: RawPathParams,
    request: Request,
) -> Response {
    deliver(receiver, params, request, None::<()>).await
}

/// A route whose handlers can reach the application's state: the [`Receiver`] is taken from
/// the router's state `S` (`Receiver: FromRef<S>`), and `S` itself is handed to each handler
/// in its context (`run.context().state::<S>()`), with the path parameters
/// (`run.context().path_param("tenant")`). Mount it in a router whose state is `S`.
///
/// ```
/// use axum::extract::FromRef;
/// use runhook::HandlerOutcome;
/// use runhook_axum::webhook_route_with_state;
/// use runhook_axum::{Handlers, Receiver};
///
/// #[derive(Clone)]
/// struct AppState {
///     receiver: Receiver,
///     greeting: &'static str,
/// }
///
/// impl FromRef<AppState> for Receiver {
///     fn from_ref(state: &AppState) -> Receiver {
///         state.receiver.clone()
///     }
/// }
///
/// let handlers = Handlers::new().on_completed(|run| async move {
///     let state = run.context().state::<AppState>();
///     let tenant = run.context().path_param("tenant").unwrap_or("none");
///     println!("{}: {} for {tenant}", run.run_id, state.map_or("?", |s| s.greeting));
///     HandlerOutcome::Ok
/// });
/// let state = AppState { receiver: Receiver::new(handlers), greeting: "hello" };
/// let app: axum::Router = axum::Router::new()
///     .route("/webhooks/tinyfish/{tenant}", webhook_route_with_state())
///     .with_state(state);
/// # drop(app);
/// ```
pub fn webhook_route_with_state<S>() -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Receiver: FromRef<S>,
{
    any(
        |State(state): State<S>, params: RawPathParams, request: Request| async move {
            deliver(Receiver::from_ref(&state), params, request, Some(state)).await
        },
    )
}

/// Puts the path parameters (and the state, if any) in the request's extensions, where the
/// handler's context finds them, and hands the request to the receiver.
async fn deliver<S>(
    receiver: Receiver,
    params: RawPathParams,
    mut request: Request,
    state: Option<S>,
) -> Response
where
    S: Clone + Send + Sync + 'static,
{
    let params = params
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    request.extensions_mut().insert(PathParams(params));
    if let Some(state) = state {
        request.extensions_mut().insert(state);
    }
    receiver
        .receive_request(request)
        .await
        .into_http()
        .map(Body::from)
}
