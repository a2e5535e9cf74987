//! The console's stylesheet and script, embedded in the binary: nothing is loaded from the
//! network.

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use sha2::{Digest, Sha256};

use crate::state::Shared;
use crate::text::hex;

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// A short digest of both assets: their URLs carry it, so a new version is fetched anew
/// although each is cached for a year.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    hasher.update(CSS.as_bytes());
    hasher.update(JS.as_bytes());
    hex(&hasher.finalize()[..6])
});

/// The stylesheet's URL.
pub(crate) fn css_url(shared: &Shared) -> String {
    format!("{}?v={}", shared.url("/assets/console.css"), *VERSION)
}

/// The script's URL.
pub(crate) fn js_url(shared: &Shared) -> String {
    format!("{}?v={}", shared.url("/assets/console.js"), *VERSION)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// `GET /assets/console.css`.
pub(crate) async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /assets/console.js`.
pub(crate) async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}
