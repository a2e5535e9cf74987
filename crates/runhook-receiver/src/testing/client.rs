//! A plain HTTP/1.1 client for 127.0.0.1.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::vectors::Built;

/// How long one request may take before the case fails (a hung adapter must not hang the suite).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A response as the suite sees it.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// An HTTP/1.1 client without TLS, redirects or retries.
#[derive(Clone)]
pub(crate) struct Client(HyperClient<HttpConnector, Full<Bytes>>);

impl Client {
    pub(crate) fn new() -> Self {
        Client(HyperClient::builder(TokioExecutor::new()).build_http())
    }

    /// Sends `request` to `url` + its path.
    pub(crate) async fn send(&self, url: &str, request: &Built) -> Result<Answer, String> {
        let method = Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{url}{}", request.path));
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
            let value = HeaderValue::from_str(value).map_err(|e| e.to_string())?;
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(request.body.clone()))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self
                .0
                .request(request)
                .await
                .map_err(|e| format!("request failed: {e:?}"))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the response failed: {e}"))?
                .to_bytes();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no response within {REQUEST_TIMEOUT:?}"))?
    }
}
