//! `trainer board`: every run and sweep under an artifacts folder, in the
//! browser. The page (`page/`) asks the API below every two seconds, so a
//! run that trains shows each new epoch; the API reads the folder afresh on
//! each request ([`catalog`]) and answers only inside it.

mod catalog;

use anyhow::{Context, Result, bail};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::args::BoardArgs;
use crate::connections::{self, ConnectionLimits};
use crate::error::ApiError;
use crate::server::{runtime, stop_signal};

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/board.js");
const STYLE: &str = include_str!("page/board.css");
/// The page runs nothing from elsewhere.
const POLICY: &str =
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'";

/// `trainer board`.
pub fn run(args: BoardArgs) -> Result<()> {
    if !args.artifacts.is_dir() {
        bail!(
            "--artifacts {}: no such folder (expected the folder training writes runs into)",
            args.artifacts.display()
        );
    }
    let addr: std::net::SocketAddr = args.addr.parse().with_context(|| {
        format!(
            "--addr {}: expected IP:PORT, e.g. 127.0.0.1:8090",
            args.addr
        )
    })?;
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("--addr {addr}: cannot listen there"))?;
    listener.set_nonblocking(true)?;
    println!(
        "board of {} ({} runs): open http://{}/ ; Ctrl-C stops",
        args.artifacts.display(),
        catalog::runs(&args.artifacts).len(),
        listener.local_addr()?
    );
    let router = router(Arc::new(args.artifacts.clone()));
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(10),
        max_connections: 256,
    };
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        connections::serve(listener, router, limits, stop_signal()).await;
        anyhow::Ok(())
    })?;
    println!("stopped");
    Ok(())
}

type Root = Arc<PathBuf>;

fn router(root: Root) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                        (header::CONTENT_SECURITY_POLICY, POLICY),
                    ],
                    INDEX,
                )
            }),
        )
        .route(
            "/board.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    SCRIPT,
                )
            }),
        )
        .route(
            "/board.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }),
        )
        .route("/api/runs", get(runs))
        .route("/api/sweeps", get(sweeps))
        .route("/api/metrics", get(metrics))
        .route("/api/report.png", get(report))
        .with_state(root)
        .layer(axum::middleware::map_response(crate::error::json_errors))
}

async fn runs(State(root): State<Root>) -> impl IntoResponse {
    Json(
        tokio::task::spawn_blocking(move || catalog::runs(&root))
            .await
            .unwrap_or_default(),
    )
}

async fn sweeps(State(root): State<Root>) -> impl IntoResponse {
    Json(
        tokio::task::spawn_blocking(move || catalog::sweeps(&root))
            .await
            .unwrap_or_default(),
    )
}

#[derive(Deserialize)]
struct Named {
    /// A run's or a sweep's folder, relative to the board's.
    id: String,
}

/// A run's per-epoch figures: `[[epoch, "train"|"valid", loss, accuracy], …]`.
async fn metrics(
    State(root): State<Root>,
    Query(named): Query<Named>,
) -> Result<impl IntoResponse, ApiError> {
    let dir = folder(&root, &named.id, "config.json")?;
    Ok(Json(
        tokio::task::spawn_blocking(move || catalog::metrics(&dir))
            .await
            .unwrap_or_default(),
    ))
}

/// A sweep's `report.png`.
async fn report(
    State(root): State<Root>,
    Query(named): Query<Named>,
) -> Result<impl IntoResponse, ApiError> {
    let dir = folder(&root, &named.id, "journal.jsonl")?;
    let bytes = std::fs::read(dir.join("report.png")).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "id={}: no report.png (write it with `trainer sweep NAME --report`)",
                named.id
            ),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "image/png")], bytes))
}

/// The folder `id` names, if it is inside the board's and holds `marker`.
fn folder(root: &Root, id: &str, marker: &str) -> Result<PathBuf, ApiError> {
    let dir = catalog::inside(root, id).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("id={id}: expected a folder under the board's, without .. or a leading /"),
        )
    })?;
    if !dir.join(marker).is_file() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("id={id}: no such run or sweep (no {marker})"),
        ));
    }
    Ok(dir)
}
