//! Every answer that is not a success is JSON naming what was wrong:
//! the handlers' own errors, and those made by axum's extractors and
//! tower-http's layers (body limit, timeout, a caught panic).

use axum::Json;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// An error answer: a status and one line for the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.message,
            "status": self.status.as_u16(),
        });
        (self.status, Json(body)).into_response()
    }
}

/// What tower-http's `CatchPanicLayer` answers: a bug became a 500, the
/// server goes on (main's panic hook has already printed where).
pub fn panic_response(payload: Box<dyn std::any::Any + Send>) -> Response {
    let reason = crate::queue::panic_message(payload.as_ref());
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("internal error (a bug, please report it): {reason}"),
    )
    .into_response()
}

/// Turns the plain-text error answers of the layers into JSON; JSON answers
/// and successes pass unchanged.
pub async fn json_errors(method: Method, uri: Uri, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_string();
    let message = match status {
        StatusCode::NOT_FOUND => format!(
            "no such path: {} (the page is /; the API is POST /api/predict, GET /api/model, GET /api/health)",
            uri.path()
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            // axum adds its `Allow` header outside these layers.
            let allowed = crate::api::method_of(uri.path());
            format!("{method} {} is not served: use {allowed}", uri.path())
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!(
                "body over the {} limit",
                crate::api::describe_bytes(crate::api::BODY_LIMIT)
            )
        }
        StatusCode::REQUEST_TIMEOUT => {
            "request not complete in time (was the body sent too slowly, or stopped?)".to_string()
        }
        _ if detail.is_empty() => status.canonical_reason().unwrap_or("error").to_lowercase(),
        _ => detail,
    };
    let mut response = ApiError::new(status, message).into_response();
    // Keep what the layers said about the connection (e.g. `connection: close`).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
