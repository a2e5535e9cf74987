//! The URLs of a run body: the page (`url`) and the `webhook_url`.

use runhook::endpoint::{AddressPolicy, UrlError, WebhookUrl};
use serde_json::{Value, json};
use url::Url;

use super::Loopback;
use crate::api_error::{Issue, Issues};

/// `url`: required, an `http(s)://` URL with a host.
pub(super) fn check_url(
    value: Option<&Value>,
    path: Vec<Value>,
    issues: &mut Issues,
) -> Option<String> {
    let text = match value {
        Some(Value::String(text)) => text,
        other => {
            issues.push(Issue::invalid_type(path, "string", other));
            return None;
        }
    };
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(text.clone())
        }
        _ => {
            issues.push(
                Issue::new("invalid_format", path, "Invalid URL").with("format", json!("url")),
            );
            None
        }
    }
}

/// `webhook_url`: optional, HTTPS (or loopback HTTP when allowed), never a private address.
pub(super) fn check_webhook_url(
    value: Option<&Value>,
    path: Vec<Value>,
    loopback: Loopback,
    issues: &mut Issues,
) -> Option<String> {
    let text = match value {
        None => return None,
        Some(Value::String(text)) => text,
        other => {
            issues.push(Issue::invalid_type(path, "string", other));
            return None;
        }
    };
    // `https://` to a loopback host may be allowed without plain `http://`.
    let https = Url::parse(text).is_ok_and(|url| url.scheme() == "https");
    let policy = AddressPolicy {
        allow_loopback: loopback.http || (loopback.https && https),
        allow_private: false,
    };
    match WebhookUrl::parse_with(text, &policy) {
        Ok(url) => Some(url.as_str().to_owned()),
        Err(error) => {
            let message = match error {
                UrlError::InsecureScheme | UrlError::UnsupportedScheme { .. } => {
                    "The webhook URL must use HTTPS (the emulator accepts http:// to a loopback \
                     host when started with --allow-http-loopback)"
                        .to_owned()
                }
                UrlError::InsecureRemoteHost { host } => format!(
                    "The webhook URL must use HTTPS: plain http is accepted only to a loopback \
                     host, and {host} is not one"
                ),
                UrlError::LoopbackName { .. } | UrlError::Forbidden(_) => {
                    "The webhook URL points to a local address; the emulator delivers there only \
                     when started with --allow-http-loopback (loopback addresses only)"
                        .to_owned()
                }
                other => format!("Invalid webhook URL: {other}"),
            };
            issues.push(Issue::new("invalid_format", path, message).with("format", json!("url")));
            None
        }
    }
}
