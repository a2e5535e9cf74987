//! `GET /openapi.json`: the emulator's own OpenAPI 3.0 document, without an API key. The file is
//! `openapi.json` in the crate's folder, embedded at build time; docs/emulator.md lists where it
//! differs from TinyFish's published description.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The document, as the crate ships it.
const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /openapi.json`.
pub(super) async fn document() -> Response {
    let mut response = (StatusCode::OK, DOCUMENT).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
