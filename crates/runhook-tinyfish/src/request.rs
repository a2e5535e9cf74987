//! What the client sends: the body of a run ([`RunRequest`]) and the filters of a listing
//! ([`ListRuns`]).

use runhook::{RunStatus, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of `POST /v1/automation/run`, `/run-async`, `/run-sse`, and one item of
/// `/run-batch`: a goal on a URL, and the options.
///
/// ```
/// use runhook_tinyfish::{BrowserProfile, ProxyConfig, RunRequest};
///
/// let request = RunRequest::new("https://example.com", "Extract the page title")
///     .webhook_url("https://hooks.example.com/tinyfish?token=s3cret")
///     .browser_profile(BrowserProfile::Stealth)
///     .proxy_config(ProxyConfig::enabled_in("US"));
/// assert_eq!(request.goal, "Extract the page title");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRequest {
    /// The website to start on.
    pub url: String,
    /// What the agent should do, in natural language.
    pub goal: String,
    /// Where TinyFish posts the run when it reaches a terminal state (HTTPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The browser: `lite` (default) or `stealth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_profile: Option<BrowserProfile>,
    /// The proxy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_config: Option<ProxyConfig>,
    /// The agent's settings (e.g. `max_steps`), as the API documents them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_config: Option<Map<String, Value>>,
    /// A JSON Schema the result must follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Map<String, Value>>,
    /// Other fields of the API's body this version does not model, sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RunRequest {
    /// A run of `goal` on `url`, without options.
    pub fn new(url: impl Into<String>, goal: impl Into<String>) -> Self {
        RunRequest {
            url: url.into(),
            goal: goal.into(),
            webhook_url: None,
            browser_profile: None,
            proxy_config: None,
            agent_config: None,
            output_schema: None,
            extra: Map::new(),
        }
    }

    /// This request with a webhook URL.
    pub fn webhook_url(mut self, webhook_url: impl Into<String>) -> Self {
        self.webhook_url = Some(webhook_url.into());
        self
    }

    /// This request with a browser profile.
    pub fn browser_profile(mut self, profile: BrowserProfile) -> Self {
        self.browser_profile = Some(profile);
        self
    }

    /// This request with proxy settings.
    pub fn proxy_config(mut self, proxy: ProxyConfig) -> Self {
        self.proxy_config = Some(proxy);
        self
    }

    /// This request with the agent's settings.
    pub fn agent_config(mut self, config: Map<String, Value>) -> Self {
        self.agent_config = Some(config);
        self
    }

    /// This request with an output schema.
    pub fn output_schema(mut self, schema: Map<String, Value>) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// This request with another field of the API's body (one this version does not model).
    pub fn field(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }
}

/// The browser a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BrowserProfile {
    /// A standard browser (the API's default).
    Lite,
    /// An anti-detection browser.
    Stealth,
}

/// The proxy settings of a run (`proxy_config`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Whether the run goes through a proxy.
    pub enabled: bool,
    /// The proxy's country, e.g. `US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Other settings (`type`, a custom proxy's `url`, …), sent as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProxyConfig {
    /// A proxy in `country_code` (e.g. `US`).
    pub fn enabled_in(country_code: impl Into<String>) -> Self {
        ProxyConfig {
            enabled: true,
            country_code: Some(country_code.into()),
            extra: Map::new(),
        }
    }

    /// No proxy.
    pub fn disabled() -> Self {
        ProxyConfig {
            enabled: false,
            country_code: None,
            extra: Map::new(),
        }
    }
}

/// The order of a listing, by `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SortDirection {
    /// Oldest first.
    Asc,
    /// Newest first (the API's default).
    Desc,
}

impl SortDirection {
    /// The value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }
}

/// The filters of `GET /v1/runs`; unset ones are not sent.
///
/// ```
/// use runhook::RunStatus;
/// use runhook_tinyfish::{ListRuns, SortDirection};
///
/// let query = ListRuns::new()
///     .status(RunStatus::Completed)
///     .goal("pricing")
///     .sort_direction(SortDirection::Asc)
///     .limit(100);
/// # drop(query);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRuns {
    status: Option<RunStatus>,
    goal: Option<String>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    sort_direction: Option<SortDirection>,
    cursor: Option<String>,
    limit: Option<u32>,
}

impl ListRuns {
    /// The most runs one page may hold.
    pub const MAX_LIMIT: u32 = 100;

    /// No filter: the API's defaults (newest first, 20 a page).
    pub fn new() -> Self {
        Self::default()
    }

    /// Only runs in `status`.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs whose goal contains `text` (case-insensitive).
    pub fn goal(mut self, text: impl Into<String>) -> Self {
        self.goal = Some(text.into());
        self
    }

    /// Only runs created after `instant`.
    pub fn created_after(mut self, instant: Timestamp) -> Self {
        self.created_after = Some(instant);
        self
    }

    /// Only runs created before `instant`.
    pub fn created_before(mut self, instant: Timestamp) -> Self {
        self.created_before = Some(instant);
        self
    }

    /// The order, by creation time.
    pub fn sort_direction(mut self, direction: SortDirection) -> Self {
        self.sort_direction = Some(direction);
        self
    }

    /// The page after the one that gave this cursor (`next_cursor`).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Runs per page, 1 to 100 (the API's default: 20); another value is refused before
    /// sending.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The cursor set, if any.
    pub fn current_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The query parameters, or why the API would refuse them.
    pub(crate) fn to_query(&self) -> Result<Vec<(&'static str, String)>, crate::Error> {
        let mut query = Vec::new();
        if let Some(status) = &self.status {
            query.push(("status", status.as_str().to_owned()));
        }
        if let Some(goal) = &self.goal {
            query.push(("goal", goal.clone()));
        }
        if let Some(after) = &self.created_after {
            query.push(("created_after", after.as_str().to_owned()));
        }
        if let Some(before) = &self.created_before {
            query.push(("created_before", before.as_str().to_owned()));
        }
        if let Some(direction) = self.sort_direction {
            query.push(("sort_direction", direction.as_str().to_owned()));
        }
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        if let Some(limit) = self.limit {
            if !(1..=Self::MAX_LIMIT).contains(&limit) {
                return Err(crate::Error::InvalidArgument(format!(
                    "limit is {limit}; a page holds 1 to 100 runs"
                )));
            }
            query.push(("limit", limit.to_string()));
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_serializes_only_what_is_set() {
        let request = RunRequest::new("https://example.com", "title")
            .browser_profile(BrowserProfile::Lite)
            .field("use_vault", Value::Bool(true));
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"url": "https://example.com", "goal": "title",
                               "browser_profile": "lite", "use_vault": true})
        );
    }

    #[test]
    fn every_filter_becomes_a_parameter_and_a_bad_limit_is_refused() {
        let query = ListRuns::new()
            .status(RunStatus::Failed)
            .goal("a b")
            .created_after(Timestamp::parse("2026-01-01T00:00:00Z").unwrap())
            .created_before(Timestamp::parse("2026-02-01T00:00:00Z").unwrap())
            .sort_direction(SortDirection::Asc)
            .cursor("c1")
            .limit(100)
            .to_query()
            .unwrap();
        let names: Vec<_> = query.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "status",
                "goal",
                "created_after",
                "created_before",
                "sort_direction",
                "cursor",
                "limit"
            ]
        );
        assert!(ListRuns::new().limit(0).to_query().is_err());
        assert!(ListRuns::new().limit(101).to_query().is_err());
    }
}
