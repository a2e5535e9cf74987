//! What the pipeline knows of a request: its parts ([`Request`]), what is known of its delivery
//! ([`Facts`]), and its `tracing` span.

use std::fmt;
use std::time::SystemTime;

use http::{Extensions, HeaderMap, Method, Uri};
use runhook::store::IdempotencyKey;
use runhook::{DriftProblem, Source};
use tokio::time::Instant;
use tracing::{Span, field};

use crate::HandlerContext;

/// The parts of a request the pipeline reads.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    /// The request's extensions (path parameters, state), where the adapter has them.
    pub(crate) extensions: Option<&'a Extensions>,
    /// When the request reached the receiver.
    pub(crate) arrived: Instant,
}

impl<'a> Request<'a> {
    /// A request that arrives now.
    pub(crate) fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        extensions: Option<&'a Extensions>,
    ) -> Self {
        Request {
            method,
            uri,
            headers,
            extensions,
            arrived: Instant::now(),
        }
    }

    /// The handler's context of this request, received at `received_at`.
    pub(crate) fn context(&self, received_at: SystemTime) -> HandlerContext {
        let context = HandlerContext::new(self.uri.clone(), self.headers.clone(), received_at);
        match self.extensions {
            Some(extensions) => context.with_extensions(extensions.clone()),
            None => context,
        }
    }
}

/// What is known about a delivery, for its report and response.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) run_id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) key: Option<IdempotencyKey>,
    pub(crate) started: Instant,
    /// The drift problems of an accepted event (empty for most).
    pub(crate) drift: Vec<DriftProblem>,
    /// How the event arrived.
    pub(crate) source: Source,
}

impl Facts {
    /// No facts: a request refused before its body was accepted.
    pub(crate) fn none(started: Instant) -> Self {
        Facts {
            run_id: None,
            event: None,
            key: None,
            started,
            drift: Vec::new(),
            source: Source::Webhook,
        }
    }
}

/// Drift problems as one log field: `pointer: message; pointer: message`.
pub(crate) struct DriftList<'a>(pub(crate) &'a [DriftProblem]);

impl fmt::Display for DriftList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// The span of one request, with the run and event recorded once known.
pub(crate) fn request_span(method: &Method) -> Span {
    tracing::info_span!(
        "webhook",
        method = %method,
        run_id = field::Empty,
        event = field::Empty
    )
}
