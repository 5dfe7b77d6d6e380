//! The server's paths, their handlers, and the layers around them.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::map_response;
use axum::response::Json;
use axum::routing::{get, post};
use dataset::NetworkInput;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::{self, ApiError};
use crate::model::ModelInfo;
use crate::page;
use crate::picture::{check_picture, declared_kind, decode_picture};
use crate::queue::{Answer, Queue, QueueError};

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    pub queue: Queue,
    pub model: Arc<ModelInfo>,
}

/// The whole server: paths, then the layers every request goes through.
pub fn router(app: App, body_limit: usize, timeout: Duration) -> Router {
    let routes = Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/api/predict", post(predict))
        .route("/api/model", get(model))
        .route("/api/health", get(health))
        .with_state(app);
    with_layers(routes, body_limit, timeout)
}

/// Errors as JSON (outermost, so it sees every layer's answer), panics as
/// 500s, a deadline for the whole request (a body sent slowly or stopped
/// gets a 408), and the body limit (413).
fn with_layers(routes: Router, body_limit: usize, timeout: Duration) -> Router {
    routes
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(map_response(error::json_errors))
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn model(State(app): State<App>) -> Json<ModelInfo> {
    Json(app.model.as_ref().clone())
}

/// The reader's answer (the same shape as the exported site's), and how
/// long the server took.
#[derive(Debug, Serialize)]
struct Prediction {
    #[serde(flatten)]
    reading: web::Answer,
    /// Milliseconds from the whole body's arrival to this answer.
    ms: f64,
    /// Milliseconds of the forward pass this image shared, and how many shared it.
    forward_ms: f64,
    batch: usize,
}

impl Prediction {
    fn new(model: &str, answer: Answer, input: NetworkInput, started: Instant) -> Prediction {
        Prediction {
            reading: web::Answer::new(model, &answer.probabilities, input),
            ms: 1000.0 * started.elapsed().as_secs_f64(),
            forward_ms: answer.forward_ms,
            batch: answer.batch,
        }
    }
}

async fn predict(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Prediction>, ApiError> {
    let started = Instant::now();
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    let declared = declared_kind(&headers)?;
    let arrival = app.queue.arrival();
    let normalise = app.model.normalise;
    let header = check_picture(&body, declared)?;
    // A small picture (a course image, a canvas) decodes in microseconds:
    // on the I/O thread, sparing each request a hand-off to the blocking
    // pool. A large one can take milliseconds: off the I/O threads.
    let input = if header.is_small() {
        decode_picture(&body, header, normalise.as_ref())?
    } else {
        tokio::task::spawn_blocking(move || decode_picture(&body, header, normalise.as_ref()))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error while decoding (a bug, please report it): {e}"),
                )
            })??
    };
    let answer = app
        .queue
        .classify(arrival, input.image.clone())
        .await
        .map_err(|e| match e {
            QueueError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many images waiting: try again in a moment",
            ),
            QueueError::Failed(reason) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error in the forward pass (a bug, please report it): {reason}"),
            ),
            QueueError::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
        })?;
    Ok(Json(Prediction::new(
        &app.model.network,
        answer,
        input,
        started,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(router: &Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn get_request(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    async fn buggy() -> &'static str {
        panic!("a bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_json_500_and_the_next_request_is_served() {
        let routes = Router::new()
            .route("/bug", get(buggy))
            .route("/fine", get(health));
        let router = with_layers(routes, 1024, Duration::from_secs(5));
        let (status, json) = call(&router, get_request("/bug")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .contains("a bug in a handler"),
            "{json}"
        );
        let (status, json) = call(&router, get_request("/fine")).await;
        assert_eq!(
            (status, json["status"].as_str()),
            (StatusCode::OK, Some("ok"))
        );
    }

    #[tokio::test]
    async fn layer_errors_are_json_too() {
        let routes = Router::new().route(
            "/echo",
            post(|body: Bytes| async move { Json(serde_json::json!({ "n": body.len() })) }),
        );
        let router = with_layers(routes, 16, Duration::from_secs(5));
        let big = Request::post("/echo")
            .body(Body::from(vec![0u8; 17]))
            .unwrap();
        let (status, json) = call(&router, big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(json["error"].as_str().unwrap().contains("limit"), "{json}");
        let (status, json) = call(&router, get_request("/echo")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(
            json["error"]
                .as_str()
                .unwrap()
                .contains("GET /echo is not served"),
            "{json}"
        );
        let (status, json) = call(&router, get_request("/nowhere")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            json["error"].as_str().unwrap().contains("/nowhere"),
            "{json}"
        );
    }
}
