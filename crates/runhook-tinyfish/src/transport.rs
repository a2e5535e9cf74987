//! Sending requests: one attempt, or attempts driven by the core's delivery state machine
//! (retries, waits, `Retry-After`), and reading the answer.

use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use runhook::delivery::{AttemptResult, Delivery, DeliveryAction, parse_retry_after};
use runhook_dispatch::SendError;
use serde::de::DeserializeOwned;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::client::Inner;
use crate::{ApiError, Error};

/// The header that carries the API key.
const API_KEY_HEADER: &str = "X-API-Key";

/// A request to the API: method, path (with its query) and JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    /// The path below the base URL, starting with `/`.
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Bytes>,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Call {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn post(
        path: impl Into<String>,
        body: &impl serde::Serialize,
    ) -> Result<Self, Error> {
        let body = serde_json::to_vec(body)
            .map_err(|err| Error::InvalidArgument(format!("the body cannot be written: {err}")))?;
        Ok(Call {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(Bytes::from(body)),
        })
    }

    /// A `POST` without a body.
    pub(crate) fn post_empty(path: impl Into<String>) -> Self {
        Call {
            method: Method::POST,
            ..Call::get(path)
        }
    }

    fn method_name(&self) -> &'static str {
        if self.method == Method::POST {
            "POST"
        } else {
            "GET"
        }
    }
}

/// A successful answer: its status and body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) path: String,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|err| Error::Decode {
            path: self.path.clone(),
            message: err.to_string(),
        })
    }
}

/// The answer to one attempt, before it is judged.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    /// The body, or its first bytes when it is over the client's limit.
    body: Bytes,
    /// Whether the body is over the client's limit (and `body` only its start).
    over_limit: bool,
}

impl Inner {
    /// The request for `call`, with the key and the body.
    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let mut url = format!("{}{}", self.base, call.path);
        if !call.query.is_empty() {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&call.query)
                .finish();
            url.push('?');
            url.push_str(&query);
        }
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header(API_KEY_HEADER, self.api_key.clone());
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        request
    }

    /// One attempt, and its whole answer.
    async fn exchange(&self, call: &Call) -> Result<Answer, reqwest::Error> {
        let response = self.request(call).send().await?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let (body, over_limit) = read_capped(response, self.max_answer).await?;
        Ok(Answer {
            status,
            retry_after,
            body,
            over_limit,
        })
    }

    /// Sends `call` once, within `timeout`: for run creation, which is never retried.
    pub(crate) async fn once(&self, call: Call, timeout: Duration) -> Result<Reply, Error> {
        let deadline = Instant::now() + timeout;
        match timeout_at(deadline, self.exchange(&call)).await {
            Ok(Ok(answer)) => judge(call, answer, self.max_answer),
            Ok(Err(err)) => Err(network(&call, SendError::classify(&err))),
            Err(_) => Err(timed_out(&call, timeout)),
        }
    }

    /// Sends `call` with the retry policy's attempts: for reads and idempotent writes.
    pub(crate) async fn retried(&self, call: Call) -> Result<Reply, Error> {
        let seed = RandomState::new().hash_one(&call.path);
        let mut delivery = Delivery::with_seed(self.policy.clone(), seed, now());
        let mut last = None;
        loop {
            match delivery.poll_action(now()) {
                DeliveryAction::Send { deadline, .. } => {
                    let limit = Instant::from_std(deadline).min(Instant::now() + self.timeout);
                    let timeout = limit.saturating_duration_since(Instant::now());
                    let (result, outcome) = match timeout_at(limit, self.exchange(&call)).await {
                        Ok(Ok(answer)) => (
                            AttemptResult::Response {
                                status: answer.status.as_u16(),
                                retry_after: answer.retry_after,
                            },
                            Ok(answer),
                        ),
                        Ok(Err(err)) => {
                            let failure = SendError::classify(&err);
                            let result = failure
                                .result()
                                .unwrap_or(AttemptResult::Network(failure.kind()));
                            (result, Err(network(&call, failure)))
                        }
                        Err(_) => (AttemptResult::Timeout, Err(timed_out(&call, timeout))),
                    };
                    if let Err(error) = &outcome {
                        tracing::debug!(path = %call.path, %error, "attempt failed");
                    }
                    last = Some(outcome);
                    delivery.handle_result(now(), result);
                }
                DeliveryAction::WaitUntil(at) => sleep_until(Instant::from_std(at)).await,
                _ => break,
            }
        }
        match last {
            Some(Ok(answer)) => judge(call, answer, self.max_answer),
            Some(Err(error)) => Err(error),
            None => Err(timed_out(&call, self.timeout)),
        }
    }

    /// Sends `call` once and returns the response once its head has arrived within `timeout`
    /// (for a stream); an error status is read whole and returned as an [`ApiError`].
    pub(crate) async fn open(
        &self,
        call: Call,
        timeout: Duration,
    ) -> Result<reqwest::Response, Error> {
        let deadline = Instant::now() + timeout;
        let response = match timeout_at(deadline, self.request(&call).send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => return Err(network(&call, SendError::classify(&err))),
            Err(_) => return Err(timed_out(&call, timeout)),
        };
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = match timeout_at(deadline, read_capped(response, self.max_answer)).await {
            Ok(Ok((body, _))) => body,
            Ok(Err(err)) => return Err(network(&call, SendError::classify(&err))),
            Err(_) => return Err(timed_out(&call, timeout)),
        };
        Err(ApiError::from_response(status.as_u16(), &body, retry_after).into())
    }
}

/// The clock the delivery machine runs on: tokio's, so a paused test clock drives it.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Reads `response`'s body up to `limit` bytes: the body, or its first bytes and `true` when it
/// is longer (the rest is never read).
async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<(Bytes, bool), reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Ok((Bytes::new(), true));
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > limit - body.len() {
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}

/// A 2xx answer as a reply (an error if its body is over `limit`), anything else as the API's
/// error.
fn judge(call: Call, answer: Answer, limit: usize) -> Result<Reply, Error> {
    if answer.status.is_success() && answer.over_limit {
        return Err(Error::Decode {
            path: call.path,
            message: format!("the answer is larger than {limit} bytes; it was not read"),
        });
    }
    if answer.status.is_success() {
        return Ok(Reply {
            path: call.path,
            body: answer.body,
        });
    }
    Err(ApiError::from_response(answer.status.as_u16(), &answer.body, answer.retry_after).into())
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()))
}

fn timed_out(call: &Call, timeout: Duration) -> Error {
    Error::Timeout {
        method: call.method_name(),
        path: call.path.clone(),
        timeout,
    }
}

/// A failure below HTTP, as classified by the one classification of client errors
/// ([`SendError::classify`]): its kind, and a description without the client's wrappers (which
/// repeat the URL).
fn network(call: &Call, failure: SendError) -> Error {
    Error::Network {
        method: call.method_name(),
        path: call.path.clone(),
        kind: failure.kind(),
        message: failure.to_string(),
    }
}
