//! The web page: files built into the binary, so the server reaches
//! nothing on disk and the page needs no network but this server. The same
//! files make the static site of `trainer export --web` (`site`), with
//! `reader.js`, which reads in the browser instead of asking a server.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) const INDEX: &str = include_str!("page/index.html");
pub(crate) const SCRIPT: &str = include_str!("page/app.js");
pub(crate) const STYLE: &str = include_str!("page/style.css");
pub(crate) const READER: &str = include_str!("page/reader.js");

/// The page never runs anything from elsewhere.
const POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'";

pub async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
        ],
        INDEX,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

pub async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}
