//! The API's shape, which the router, its errors and the page share: the
//! method each path answers, and the largest body a request may send.

/// Largest request body: a drawing as PNG is a few kilobytes.
pub const BODY_LIMIT: usize = 2_000_000;

/// `2 MB` for 2,000,000.
pub fn describe_bytes(bytes: usize) -> String {
    format!("{} MB", bytes as f64 / 1e6)
}

/// The method a path of the router answers; the others get a 405 naming it.
pub fn method_of(path: &str) -> &'static str {
    match path {
        "/api/predict" => "POST",
        _ => "GET",
    }
}
