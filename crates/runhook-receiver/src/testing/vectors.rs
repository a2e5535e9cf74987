//! The cases of `fixtures/vectors/receive.json`, read at compile time.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

/// The vector file, embedded so the table exists once.
const VECTORS: &str = include_str!("../../vectors/receive.json");

#[derive(Debug, Deserialize)]
struct File {
    cases: Vec<Case>,
}

/// One case: requests, expected statuses, handler calls and store states.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    pub(crate) name: String,
    #[allow(dead_code)] // documentation for readers of the file
    pub(crate) covers: String,
    #[serde(default)]
    pub(crate) scenario: Scenario,
    #[serde(default)]
    pub(crate) setup: Setup,
    #[serde(default)]
    pub(crate) parallel: Option<usize>,
    pub(crate) steps: Vec<Step>,
    pub(crate) calls: Vec<Call>,
    /// Expected key states in the idempotency store after the last step.
    pub(crate) store_after: BTreeMap<String, String>,
}

/// How the steps run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scenario {
    #[default]
    Sequential,
    ConcurrentDuplicates,
}

/// The receiver a case runs against.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Setup {
    pub(crate) handler: Vec<Behaviour>,
    pub(crate) store: StoreSetup,
    pub(crate) deadline_ms: Option<u64>,
    pub(crate) auth: bool,
    pub(crate) strict: bool,
    pub(crate) max_body_bytes: Option<usize>,
    pub(crate) url_token: Vec<String>,
    pub(crate) abandoned: Vec<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            handler: vec![Behaviour::Ok],
            store: StoreSetup::Memory,
            deadline_ms: None,
            auth: false,
            strict: false,
            max_body_bytes: None,
            url_token: Vec::new(),
            abandoned: Vec::new(),
        }
    }
}

/// What the test handler does on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Behaviour {
    Ok,
    Retry,
    Reject,
    Panic,
    Gate,
    LateRetry,
}

/// The idempotency store of a case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StoreSetup {
    #[default]
    Memory,
    Unavailable,
    Full,
}

/// A request with its expectations, or an action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    pub(crate) request: Option<Request>,
    pub(crate) status: Option<u16>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) action: Option<Action>,
    pub(crate) key: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) ms: Option<u64>,
}

/// A step that is not a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    OpenGate,
    AwaitStore,
    AwaitDeadLetter,
    AdvanceClock,
}

/// A request as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Request {
    method: Option<String>,
    path: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    json: Option<Value>,
    text: Option<String>,
    bytes: Option<String>,
    generate: Option<Generate>,
}

/// A generated body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    kind: String,
    run_id: String,
    bytes: Option<usize>,
    depth: Option<usize>,
}

/// One expected handler call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Call {
    pub(crate) event: String,
    pub(crate) run_id: Option<String>,
    /// The JSON pointers of the event's drift problems, if any.
    #[serde(default)]
    pub(crate) drift: Vec<String>,
    /// What the handler saw in its context: the `x-conformance-note` header and the query.
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

/// Every case of the file.
pub(crate) fn cases() -> Result<Vec<Case>, String> {
    let file: File = serde_json::from_str(VECTORS)
        .map_err(|e| format!("fixtures/vectors/receive.json does not parse: {e}"))?;
    Ok(file.cases)
}

impl Request {
    /// The request to send.
    pub(crate) fn build(&self) -> Result<Built, String> {
        let bodies = [
            self.json.is_some(),
            self.text.is_some(),
            self.bytes.is_some(),
            self.generate.is_some(),
        ];
        if bodies.iter().filter(|b| **b).count() > 1 {
            return Err("a request has more than one of json, text, bytes, generate".into());
        }
        let body = if let Some(json) = &self.json {
            serde_json::to_vec(json).map_err(|e| e.to_string())?
        } else if let Some(text) = &self.text {
            text.clone().into_bytes()
        } else if let Some(bytes) = &self.bytes {
            unescape(bytes)?
        } else if let Some(generate) = &self.generate {
            generate.build()?
        } else {
            Vec::new()
        };
        let headers = match &self.headers {
            Some(headers) => headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            None => vec![("content-type".to_owned(), "application/json".to_owned())],
        };
        Ok(Built {
            method: self.method.clone().unwrap_or_else(|| "POST".to_owned()),
            path: self.path.clone().unwrap_or_default(),
            headers,
            body: Bytes::from(body),
        })
    }
}

impl Generate {
    fn build(&self) -> Result<Vec<u8>, String> {
        let head = format!(
            r#"{{"event":"run.completed","run_id":"{}","status":"COMPLETED","data":"#,
            self.run_id
        );
        match (self.kind.as_str(), self.bytes, self.depth) {
            ("padded", Some(len), None) => {
                let open = format!(r#"{head}{{}},"padding":""#);
                let close = "\"}";
                let fill = len
                    .checked_sub(open.len() + close.len())
                    .ok_or_else(|| format!("{len} bytes is too small for a padded body"))?;
                Ok(format!("{open}{}{close}", "x".repeat(fill)).into_bytes())
            }
            ("nested", None, Some(depth)) => Ok(format!(
                r#"{head}{{"result":{{"deep":{}{}}}}}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
            .into_bytes()),
            _ => Err(format!("unknown generator {self:?}")),
        }
    }
}

/// `\xNN` escapes to bytes; everything else as UTF-8.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\\x") {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let hex = rest
            .get(at + 2..at + 4)
            .ok_or_else(|| format!("a \\x escape needs two hex digits in {text:?}"))?;
        out.push(u8::from_str_radix(hex, 16).map_err(|e| format!("{hex:?}: {e}"))?);
        rest = &rest[at + 4..];
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}
