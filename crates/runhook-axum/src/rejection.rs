//! [`WebhookRejection`]: why the [`Webhook`](crate::Webhook) extractor refused a request.

use crate::WebhookRejection;
use axum::body::Body;
use axum::response::{IntoResponse, Response};

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        self.0
            .response()
            .into_http()
            .map(Body::from)
            .into_response()
    }
}
