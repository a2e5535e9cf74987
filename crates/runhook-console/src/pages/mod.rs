//! The console's pages: one module per page (or per group of actions).

pub(crate) mod actions;
pub(crate) mod bulk;
pub(crate) mod delivery;
pub(crate) mod event;
pub(crate) mod events;
pub(crate) mod inspector;
pub(crate) mod overview;
pub(crate) mod run;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;

use crate::csrf::FormFields;
use crate::layout;
use crate::state::AppState;

/// Everything else: a 404 page.
pub(crate) async fn not_found(State(shared): State<AppState>) -> Response {
    layout::error(
        &shared,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// The message a redirect after an action asks for (`?done=…&n=…`), from a fixed list: the
/// query names a message, it never holds its text.
pub(crate) fn flash(query: &FormFields) -> Option<String> {
    let n = query
        .get("n")
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let message = match query.get("done")? {
        "replayed" => "The event was made pending again: a worker will process it.".to_owned(),
        "not-replayed" => "Nothing was replayed: only a done or dead event can be.".to_owned(),
        "purged" => "The event was purged.".to_owned(),
        "not-purged" => "Nothing was purged: a pending event never is.".to_owned(),
        "bulk" if n == 1 => "1 dead event was made pending again.".to_owned(),
        "bulk" => format!("{n} dead events were made pending again."),
        "resent" => "Sent again: this is the new delivery.".to_owned(),
        "resent-unrecorded" => format!(
            "Sent again; the receiver answered {n}, but the new delivery was not recorded \
             (is the webhook route wrapped with the inspector's layer?)."
        ),
        "not-resendable" => "This delivery cannot be sent again (see below).".to_owned(),
        _ => return None,
    };
    Some(message)
}

/// The fields of a request's query string.
pub(crate) fn query_fields(query: Option<&str>) -> FormFields {
    FormFields::parse(query.unwrap_or_default().as_bytes())
}
