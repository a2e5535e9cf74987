//! The token check: a bearer token or the session cookie the login page sets.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use maud::html;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::csrf::{self, FormFields};
use crate::layout;
use crate::state::{AppState, Shared};
use crate::text::hex;

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "runhook_console";

/// What a request must show when the console requires a token.
pub(crate) struct Auth {
    /// SHA-256 of the token: a bearer token is compared through its digest, in constant time
    /// and whatever its length.
    token_digest: Vec<u8>,
    /// The session cookie's value: SHA-256 of a per-process random secret and the token, so the
    /// cookie is never the token, and is worthless once the process ends.
    session: String,
}

impl Auth {
    pub(crate) fn new(token: &str) -> Self {
        let secret = csrf::new_token();
        let mut hasher = Sha256::new();
        hasher.update(secret.as_bytes());
        hasher.update([0]);
        hasher.update(token.as_bytes());
        Auth {
            token_digest: Sha256::digest(token.as_bytes()).to_vec(),
            session: hex(&hasher.finalize()),
        }
    }

    /// Whether `token` is the console's token.
    fn is_token(&self, token: &str) -> bool {
        let digest = Sha256::digest(token.as_bytes());
        bool::from(self.token_digest.as_slice().ct_eq(digest.as_slice()))
    }

    /// Whether the request's headers carry the token or the session cookie.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.strip_prefix("Bearer "))
            .any(|token| self.is_token(token.trim()));
        bearer
            || cookie(headers, COOKIE_NAME)
                .is_some_and(|value| bool::from(self.session.as_bytes().ct_eq(value.as_bytes())))
    }
}

/// The value of the cookie `name` among the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether the client reads HTML (a browser): it gets the login page rather than a bare 401.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The middleware of every page: passes a request that shows the token or the session cookie
/// (every request, when the console has no token); answers 401 otherwise.
pub(crate) async fn require(
    State(shared): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(auth) = &shared.auth else {
        return next.run(request).await;
    };
    if auth.admits(request.headers()) {
        return next.run(request).await;
    }
    let mut response = if wants_html(request.headers()) {
        login_form(&shared, StatusCode::UNAUTHORIZED, None)
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            "401 unauthorized: this console needs its token, as `Authorization: Bearer <token>` \
             or through its login page\n",
        )
            .into_response()
    };
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"runhook console\""),
    );
    response
}

/// `GET /login`: the login form (or, on a console without a token, a redirect to the overview).
pub(crate) async fn login_page(State(shared): State<AppState>) -> Response {
    if shared.auth.is_none() {
        return layout::redirect(&shared.url("/"));
    }
    login_form(&shared, StatusCode::OK, None)
}

/// `POST /login`: with the right `token` and `csrf`, sets the session cookie and redirects to
/// the overview.
pub(crate) async fn login(State(shared): State<AppState>, body: Bytes) -> Response {
    let form = FormFields::parse(&body);
    if !csrf::matches(&shared.csrf, form.get("csrf")) {
        return layout::forbidden(&shared);
    }
    let Some(auth) = &shared.auth else {
        return layout::redirect(&shared.url("/"));
    };
    if !form.get("token").is_some_and(|token| auth.is_token(token)) {
        return login_form(
            &shared,
            StatusCode::UNAUTHORIZED,
            Some("That token is not right."),
        );
    }
    let mut response = layout::redirect(&shared.url("/"));
    let cookie = format!(
        "{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/",
        auth.session
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// The login page, with `problem` said above the form.
fn login_form(shared: &Shared, status: StatusCode, problem: Option<&str>) -> Response {
    let body = html! {
        section.card.narrow {
            h1 { "Sign in" }
            p { "This console needs its token (the one it was started with)." }
            @if let Some(problem) = problem {
                p.flash.error role="alert" { (problem) }
            }
            form method="post" action=(shared.url("/login")) {
                (layout::csrf_field(shared))
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    let page = layout::page(shared, "Sign in", layout::Nav::None, None, body);
    layout::html(status, page)
}
