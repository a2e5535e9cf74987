//! `POST /events/{key}/replay` and `POST /events/{key}/purge`: the actions on one event.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use runhook::store::IdempotencyKey;

use crate::csrf::{self, FormFields};
use crate::layout;
use crate::pages::events::{EventFilter, event_url, with_query};
use crate::state::{AppState, Shared};

/// What an action does.
#[derive(Clone, Copy)]
enum Action {
    Replay,
    Purge,
}

/// Where an action redirects to: the events table it was posted from (its `back` field, parsed
/// again as a filter: never a URL taken from the form), else the event's page (or, after a
/// purge, the table).
fn back_to(shared: &Shared, form: &FormFields, key: &str, done: &str, gone: bool) -> String {
    let table = form
        .get("back")
        .map(|back| EventFilter::parse(&FormFields::parse(back.as_bytes())));
    match table {
        Some(Ok(filter)) => {
            let mut query = filter.query(true);
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str("done=");
            query.push_str(done);
            with_query(shared.url("/events"), &query)
        }
        _ if gone => with_query(shared.url("/events"), &format!("done={done}")),
        _ => with_query(event_url(shared, key), &format!("done={done}")),
    }
}

async fn act(shared: AppState, key: String, body: Bytes, action: Action) -> Response {
    let form = FormFields::parse(&body);
    if !csrf::matches(&shared.csrf, form.get("csrf")) {
        return layout::forbidden(&shared);
    }
    let Some(inbox) = shared.inbox() else {
        return super::not_found(State(shared)).await;
    };
    let id = IdempotencyKey::new(key.as_str());
    match inbox.get(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return layout::no_such_event(&shared);
        }
        Err(error) => return layout::store_error(&shared, &error),
    }
    let result = match action {
        Action::Replay => inbox.replay_finished(&id, SystemTime::now()).await,
        Action::Purge => inbox.purge_key(&id).await,
    };
    let (done, gone) = match (action, result) {
        (_, Err(error)) => return layout::store_error(&shared, &error),
        (Action::Replay, Ok(true)) => ("replayed", false),
        (Action::Replay, Ok(false)) => ("not-replayed", false),
        (Action::Purge, Ok(true)) => ("purged", true),
        (Action::Purge, Ok(false)) => ("not-purged", false),
    };
    layout::redirect(&back_to(&shared, &form, &key, done, gone))
}

/// `POST /events/{key}/replay`: makes a done or dead event pending again.
pub(crate) async fn replay(
    State(shared): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    act(shared, key, body, Action::Replay).await
}

/// `POST /events/{key}/purge`: deletes a done or dead event and its history.
pub(crate) async fn purge(
    State(shared): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    act(shared, key, body, Action::Purge).await
}
