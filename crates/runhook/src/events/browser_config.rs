//! The browser's proxy settings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Nullable;

/// The browser configuration a run used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(expecting = "a browser_config object")]
#[non_exhaustive]
pub struct BrowserConfig {
    /// Whether a proxy was used.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub proxy_enabled: Nullable<bool>,
    /// The proxy's country, e.g. `US`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub proxy_country_code: Nullable<String>,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
