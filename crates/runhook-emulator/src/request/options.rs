//! The optional settings of a run body, checked as TinyFish's published API description
//! documents them: `browser_profile`, `proxy_config`, `agent_config`, `capture_config`,
//! `feature_flags`, the vault and profile fields and `api_integration`. The emulator uses only
//! the proxy's `enabled` and `country_code` (shown as the run's `browser_config`).

use serde_json::{Map, Value, json};

use super::{at, present};
use crate::api_error::{Issue, Issues};

/// The proxy countries the description lists (the official Python SDK would send any ISO
/// 3166-1 code; the emulator follows the description).
pub(crate) const PROXY_COUNTRIES: [&str; 7] = ["US", "GB", "CA", "DE", "FR", "JP", "AU"];

/// The most steps `agent_config.max_steps` may allow.
pub(crate) const MAX_AGENT_STEPS: usize = 500;

/// What the emulator keeps of `proxy_config`.
#[derive(Debug, Default)]
pub(super) struct Proxy {
    pub(super) enabled: Option<bool>,
    pub(super) country_code: Option<String>,
}

/// Checks every optional setting of the run body `object` found at `prefix`.
pub(super) fn check_options(
    object: &Map<String, Value>,
    prefix: &[Value],
    issues: &mut Issues,
) -> Proxy {
    one_of(
        object,
        "browser_profile",
        prefix,
        &["lite", "stealth"],
        issues,
    );
    let proxy = match section(object, "proxy_config", prefix, issues) {
        Some(proxy) => check_proxy(proxy, &at(prefix, "proxy_config"), issues),
        None => Proxy::default(),
    };
    if let Some(agent) = section(object, "agent_config", prefix, issues) {
        check_agent(agent, &at(prefix, "agent_config"), issues);
    }
    if let Some(capture) = section(object, "capture_config", prefix, issues) {
        let path = at(prefix, "capture_config");
        for key in capture.keys() {
            boolean(capture, key, &path, issues);
        }
    }
    section(object, "feature_flags", prefix, issues);
    boolean(object, "use_vault", prefix, issues);
    boolean(object, "use_profile", prefix, issues);
    string(object, "profile_id", prefix, issues);
    string(object, "api_integration", prefix, issues);
    check_credentials(object, prefix, issues);
    proxy
}

/// `proxy_config`: `enabled` (required), `type` (`tetra` or `custom`), `country_code` (one of
/// [`PROXY_COUNTRIES`]), `url` (a URI, required with `type: "custom"`), `username`, `password`.
fn check_proxy(proxy: &Map<String, Value>, path: &[Value], issues: &mut Issues) -> Proxy {
    let enabled = match proxy.get("enabled") {
        Some(Value::Bool(enabled)) => Some(*enabled),
        other => {
            issues.push(Issue::invalid_type(at(path, "enabled"), "boolean", other));
            None
        }
    };
    let kind = one_of(proxy, "type", path, &["tetra", "custom"], issues);
    let country_code = one_of(proxy, "country_code", path, &PROXY_COUNTRIES, issues);
    match string(proxy, "url", path, issues) {
        Some(url) if url::Url::parse(url).is_err() => issues.push(
            Issue::new("invalid_format", at(path, "url"), "Invalid URI")
                .with("format", json!("uri")),
        ),
        Some(_) => {}
        None if kind == Some("custom") && present(proxy, "url").is_none() => {
            let mut issue = Issue::invalid_type(at(path, "url"), "string", None);
            issue.message = "A custom proxy (type \"custom\") needs its url".to_owned();
            issues.push(issue);
        }
        None => {}
    }
    string(proxy, "username", path, issues);
    string(proxy, "password", path, issues);
    Proxy {
        enabled,
        country_code: country_code.map(str::to_owned),
    }
}

/// `agent_config`: `mode` (`default` or `strict`), `max_steps` (an integer from 1 to
/// [`MAX_AGENT_STEPS`]); what the official SDKs send besides: `max_duration_seconds` (an integer
/// of at least 1) and `cursor_style` (a string).
fn check_agent(agent: &Map<String, Value>, path: &[Value], issues: &mut Issues) {
    one_of(agent, "mode", path, &["default", "strict"], issues);
    integer(agent, "max_steps", path, (1, Some(MAX_AGENT_STEPS)), issues);
    integer(agent, "max_duration_seconds", path, (1, None), issues);
    string(agent, "cursor_style", path, issues);
}

/// `credential_item_ids`: a non-empty list of non-empty strings.
fn check_credentials(object: &Map<String, Value>, prefix: &[Value], issues: &mut Issues) {
    let path = at(prefix, "credential_item_ids");
    let ids = match present(object, "credential_item_ids") {
        None => return,
        Some(Value::Array(ids)) => ids,
        other => {
            issues.push(Issue::invalid_type(path, "array", other));
            return;
        }
    };
    if ids.is_empty() {
        issues.push(Issue::too_small(path.clone(), "array", 1));
    }
    for (index, id) in ids.iter().enumerate() {
        let mut item = path.clone();
        item.push(json!(index));
        match id {
            Value::String(id) if id.is_empty() => {
                issues.push(Issue::too_small(item, "string", 1));
            }
            Value::String(_) => {}
            other => issues.push(Issue::invalid_type(item, "string", Some(other))),
        }
    }
}

/// Field `key` as an object, if present; another type is an issue.
fn section<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    prefix: &[Value],
    issues: &mut Issues,
) -> Option<&'a Map<String, Value>> {
    match present(object, key)? {
        Value::Object(section) => Some(section),
        other => {
            issues.push(Issue::invalid_type(at(prefix, key), "object", Some(other)));
            None
        }
    }
}

/// Field `key` as a string, if present; another type is an issue.
fn string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    prefix: &[Value],
    issues: &mut Issues,
) -> Option<&'a str> {
    match present(object, key)? {
        Value::String(text) => Some(text),
        other => {
            issues.push(Issue::invalid_type(at(prefix, key), "string", Some(other)));
            None
        }
    }
}

/// Field `key` as a boolean, if present; another type is an issue.
fn boolean(object: &Map<String, Value>, key: &str, prefix: &[Value], issues: &mut Issues) {
    match present(object, key) {
        None | Some(Value::Bool(_)) => {}
        other => issues.push(Issue::invalid_type(at(prefix, key), "boolean", other)),
    }
}

/// Field `key` as one of `values`, if present; anything else is an issue.
fn one_of<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    prefix: &[Value],
    values: &[&str],
    issues: &mut Issues,
) -> Option<&'a str> {
    match present(object, key)? {
        Value::String(text) if values.contains(&text.as_str()) => Some(text),
        _ => {
            issues.push(Issue::invalid_option(at(prefix, key), values));
            None
        }
    }
}

/// Field `key` as a whole number within `(minimum, maximum)`, if present; anything else is an
/// issue. `5.0` is a whole number, as JSON Schema counts it.
fn integer(
    object: &Map<String, Value>,
    key: &str,
    prefix: &[Value],
    (minimum, maximum): (usize, Option<usize>),
    issues: &mut Issues,
) {
    let Some(value) = present(object, key) else {
        return;
    };
    let path = at(prefix, key);
    let Some(number) = value.as_f64().filter(|n| n.fract() == 0.0) else {
        issues.push(Issue::invalid_type(path, "integer", Some(value)));
        return;
    };
    if number < f64::from(limit(minimum)) {
        issues.push(Issue::too_small(path, "number", minimum));
    } else if let Some(maximum) = maximum.filter(|m| number > f64::from(limit(*m))) {
        issues.push(Issue::too_big(path, "number", maximum));
    }
}

/// A limit of [`integer`] as a `u32` (they are small).
fn limit(bound: usize) -> u32 {
    u32::try_from(bound).unwrap_or(u32::MAX)
}
