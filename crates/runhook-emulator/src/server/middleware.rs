//! The request log and the API-key check.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use runhook::endpoint::is_secret_name;

use crate::activity::{Activity, RequestRecord};
use crate::api_error::ApiError;
use crate::state::Shared;

/// The path and query of `uri`, secret-looking query values replaced by `***`.
pub(super) fn loggable(uri: &axum::http::Uri) -> String {
    let path = uri.path().to_owned();
    let Some(query) = uri.query() else {
        return path;
    };
    let query = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{path}?{query}")
}

/// Tells the observer about every answered request.
pub(super) async fn log_request(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = loggable(request.uri());
    let response = next.run(request).await;
    shared.observe(&Activity::Request(RequestRecord {
        method,
        path,
        status: response.status().as_u16(),
        elapsed: started.elapsed(),
    }));
    response
}

/// Byte-wise comparison that does not stop at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 401 MISSING_API_KEY without `X-API-Key`, 401 INVALID_API_KEY with an unknown one.
pub(super) async fn require_api_key(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get("x-api-key")
        .map(|value| value.as_bytes().trim_ascii());
    match given {
        None | Some([]) => ApiError::missing_api_key().into_response(),
        Some(key)
            if shared
                .settings
                .api_keys
                .iter()
                .any(|k| same(k.as_bytes(), key)) =>
        {
            next.run(request).await
        }
        Some(_) => ApiError::invalid_api_key().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_values_are_hidden() {
        let uri: axum::http::Uri = "/v1/runs?goal=x&token=abc&api_key=k&limit=5"
            .parse()
            .unwrap();
        assert_eq!(
            loggable(&uri),
            "/v1/runs?goal=x&token=***&api_key=***&limit=5"
        );
    }
}
