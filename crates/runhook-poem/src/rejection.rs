//! [`WebhookRejection`]: a refused request as a poem error.

use crate::WebhookRejection;
use poem::Response;
use poem::error::ResponseError;
use poem::http::StatusCode;

impl ResponseError for WebhookRejection {
    fn status(&self) -> StatusCode {
        self.0.status()
    }

    fn as_response(&self) -> Response {
        crate::endpoint::to_poem(self.0.response())
    }
}
