//! [`redact_url`]: a URL, a connection string or a line of text made fit to print, with every
//! secret in it replaced by [`REDACTED`].

use std::borrow::Cow;

/// What stands in for a secret in [`redact_url`]'s output.
pub const REDACTED: &str = "***";

/// The words that, found anywhere in a parameter's name (ignoring case), make its value a secret.
const SECRET_WORDS: [&str; 12] = [
    "pass", "pwd", "token", "secret", "key", "sig", "auth", "cred", "session", "cookie", "jwt",
    "bearer",
];

/// The shortest path segment that can look like a token.
const TOKEN_MIN: usize = 16;

/// From this length, a segment of token characters looks like a token whatever its mix.
const TOKEN_ANY_MIX: usize = 32;

/// Whether a parameter named `name` holds a secret: its name contains, in any case, one of
/// `pass`, `pwd`, `token`, `secret`, `key`, `sig`, `auth`, `cred`, `session`, `cookie`, `jwt`
/// or `bearer` (so `password`, `access_token`, `API_KEY`, `signature`, `Authorization`).
///
/// ```
/// use runhook::endpoint::is_secret_name;
///
/// assert!(is_secret_name("access_token") && is_secret_name("PASSWORD"));
/// assert!(!is_secret_name("schema") && !is_secret_name("sslmode"));
/// ```
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// `input` with every secret replaced by [`REDACTED`] (`***`). Works on a URL of any scheme, a
/// path and query (`/hooks?token=…`), a libpq key-value string, or a whole sentence holding such
/// things; text without secrets comes out unchanged.
///
/// What counts as a secret:
/// - user-info, in any scheme, known or not: the password (`scheme://user:***@host`), and the
///   user name too when it looks like a token or is named like a secret (`scheme://***@host`);
/// - the value of every query parameter, fragment parameter or `key=value` setting whose name
///   suggests a secret ([`is_secret_name`]: `password`, `token`, `api_key`, `X-Signature`, …);
/// - a path segment, or a bare query parameter, that looks like a token: 16 characters or more
///   of the characters tokens are made of, mixing two of lower case, upper case and digits (a hex
///   or base64 secret, a UUID), or 32 or more of them in any mix.
///
/// The input is never parsed strictly: text that is not a URL, a scheme nobody knows, a password
/// holding `/`, `?`, `#` or `@`, and a libpq-style `host=db password='a b'` string all come out
/// without their secrets. Where the input is ambiguous, more is hidden rather than less.
///
/// ```
/// use runhook::endpoint::redact_url;
///
/// assert_eq!(redact_url("redis://:hunter2@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
/// assert_eq!(redact_url("mysql://root:pw@db/app"), "mysql://root:***@db/app");
/// assert_eq!(
///     redact_url("http://127.0.0.1:3000/hook?token=38e7f1&x=1"),
///     "http://127.0.0.1:3000/hook?token=***&x=1"
/// );
/// assert_eq!(redact_url("host=db password=s3cret"), "host=db password=***");
/// ```
pub fn redact_url(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut state = Setting::None;
    let mut rest = input;
    while !rest.is_empty() {
        let split = match rest.find(char::is_whitespace) {
            Some(0) => rest
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len()),
            Some(end) => end,
            None => rest.len(),
        };
        let (piece, tail) = rest.split_at(split);
        rest = tail;
        if piece.starts_with(char::is_whitespace) {
            // Inside a quoted secret, the spaces are the secret's too.
            if state != Setting::Quoted {
                out.push_str(piece);
            }
        } else {
            state = word(piece, state, &mut out);
        }
    }
    out
}

/// Where a libpq-style `name = value` setting with a secret name stands, across words.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Setting {
    /// Not inside one.
    None,
    /// After a secret name: an `=` may follow.
    Named,
    /// After `name =`: the value comes next.
    Valued,
    /// Inside a quoted value: words are swallowed up to the closing quote.
    Quoted,
}

/// Writes one word (no whitespace) of `redact_url`'s input, and the state for the next one.
fn word(piece: &str, state: Setting, out: &mut String) -> Setting {
    match state {
        Setting::Quoted => {
            return if closes_quote(piece) {
                Setting::None
            } else {
                Setting::Quoted
            };
        }
        Setting::Valued => return value(piece, out),
        Setting::Named => {
            if let Some(after) = piece.strip_prefix('=') {
                out.push('=');
                return if after.is_empty() {
                    Setting::Valued
                } else {
                    value(after, out)
                };
            }
        }
        Setting::None => {}
    }
    if !piece.contains("://")
        && let Some((name, after)) = piece.split_once('=')
        && is_setting_name(name)
        && is_secret_name(name)
    {
        out.push_str(name);
        out.push('=');
        return if after.is_empty() {
            Setting::Valued
        } else {
            value(after, out)
        };
    }
    if is_setting_name(piece) && is_secret_name(piece) {
        out.push_str(piece);
        return Setting::Named;
    }
    out.push_str(&redact_piece(piece));
    Setting::None
}

/// Writes [`REDACTED`] for a secret setting's value (its first word), and whether a quote stays
/// open.
fn value(piece: &str, out: &mut String) -> Setting {
    out.push_str(REDACTED);
    match piece.strip_prefix('\'') {
        Some(quoted) if !closes_quote(quoted) => Setting::Quoted,
        _ => Setting::None,
    }
}

/// Whether `piece` ends a single-quoted value (a `'` not escaped by a backslash).
fn closes_quote(piece: &str) -> bool {
    piece.ends_with('\'') && !piece.ends_with("\\'")
}

/// Whether `name` can be the name of a `name=value` setting (letters, digits, `_`, `-`, `.`).
fn is_setting_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// One word without whitespace: a URL (anything with `://`), a path or query, `user:pw@host`
/// (a host after the `@`), `a=1&b=2` pairs, or plain text.
fn redact_piece(piece: &str) -> String {
    if let Some(scheme_end) = piece.find("://") {
        let scheme_start = piece[..scheme_end]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            .last()
            .map_or(scheme_end, |(index, _)| index);
        let (prefix, url) = piece.split_at(scheme_start);
        let mut out = prefix.to_owned();
        out.push_str(&hierarchical(url, scheme_end - scheme_start));
        return out;
    }
    if piece.starts_with('/') || piece.contains(['?', '#']) {
        return reference(piece);
    }
    if let Some(at) = piece.rfind('@')
        && piece[..at].contains(':')
        && piece[at + 1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '[')
    {
        return format!("{REDACTED}{}", &piece[at..]);
    }
    if piece.contains('=') {
        return pairs(piece);
    }
    piece.to_owned()
}

/// `scheme://[user-info@]host[/path][?query][#fragment]`, the `://` at `scheme_end`.
fn hierarchical(url: &str, scheme_end: usize) -> String {
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let at = match authority.rfind('@') {
        Some(at) => Some(at),
        None => ambiguous_user_info(rest, authority),
    };
    let mut out = scheme.to_owned();
    let after = match at {
        Some(at) => {
            let user_info = &rest[..at];
            let (user, password) = match user_info.split_once(':') {
                Some((user, _)) => (user, true),
                None => (user_info, false),
            };
            if looks_like_token(user) || is_secret_name(user) {
                out.push_str(REDACTED);
            } else {
                out.push_str(user);
                if password {
                    out.push(':');
                    out.push_str(REDACTED);
                }
            }
            &rest[at..]
        }
        None => rest,
    };
    let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    out.push_str(&after[..host_end]);
    out.push_str(&reference(&after[host_end..]));
    out
}

/// Where the user-info of `rest` (after `://`) ends when its authority holds no `@`, but a
/// password with a `/`, `?` or `#` in it may have cut the authority short (`root:p/w@db`):
/// the authority has a `:` that is not followed by a port, or an `@` follows in the path.
fn ambiguous_user_info(rest: &str, authority: &str) -> Option<usize> {
    let (_, port) = authority.rsplit_once(':')?;
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let in_path = rest[..path_end].rfind('@');
    let not_a_port = port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit());
    match in_path {
        Some(at) => Some(at),
        None if not_a_port => rest.rfind('@'),
        None => None,
    }
}

/// `path[?query][#fragment]`: token-like path segments, and secret query and fragment values,
/// redacted.
fn reference(text: &str) -> String {
    let (text, fragment) = match text.split_once('#') {
        Some((text, fragment)) => (text, Some(fragment)),
        None => (text, None),
    };
    let (path, query) = match text.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (text, None),
    };
    let mut out = path
        .split('/')
        .map(|segment| match looks_like_token(segment) {
            true => Cow::Borrowed(REDACTED),
            false if segment.contains('=') => Cow::Owned(pairs(segment)),
            false => Cow::Borrowed(segment),
        })
        .collect::<Vec<_>>()
        .join("/");
    if let Some(query) = query {
        out.push('?');
        out.push_str(&pairs(query));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&pairs(fragment));
    }
    out
}

/// `a=1&token=x&b`: the values of secret-named pairs, and token-like bare pairs, redacted.
fn pairs(text: &str) -> String {
    map_pairs(text, REDACTED, |raw_name, has_value| {
        let name = decode_form(raw_name);
        match has_value {
            true => is_secret_name(&name),
            false => looks_like_token(raw_name),
        }
    })
}

/// The `&`-separated pairs of `query`, each one `hide` says is secret written as `name=marker`
/// (a bare one as `marker`); `hide` gets the raw name and whether the pair has a value.
pub(crate) fn map_pairs(query: &str, marker: &str, hide: impl Fn(&str, bool) -> bool) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if hide(name, true) => Cow::Owned(format!("{name}={marker}")),
            None if hide(pair, false) => Cow::Borrowed(marker),
            _ => Cow::Borrowed(pair),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A form-encoded name, decoded (`t%6Fken` is `token`, `+` a space).
pub(crate) fn decode_form(raw: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

/// Whether a path segment (or a bare parameter) looks like a token: at least 16 characters of
/// `A-Z a-z 0-9 - _ . ~ + = %`, mixing two of lower case, upper case and digits, or at least 32
/// of them.
fn looks_like_token(segment: &str) -> bool {
    if segment.len() < TOKEN_MIN
        || !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+=%".contains(&b))
    {
        return false;
    }
    let classes = [
        segment.bytes().any(|b| b.is_ascii_lowercase()),
        segment.bytes().any(|b| b.is_ascii_uppercase()),
        segment.bytes().any(|b| b.is_ascii_digit()),
    ];
    segment.len() >= TOKEN_ANY_MIX || classes.iter().filter(|class| **class).count() >= 2
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
