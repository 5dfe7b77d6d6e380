//! Serving a trained run: a web page where a person writes a character and
//! sees what the network reads, and an HTTP API; and a load test of both.
//!
//! One thread owns the network and answers queued images in batches
//! ([`queue`]); axum on tokio serves the page and the API ([`routes`]);
//! everything a client sends is checked ([`picture`]) and every refusal is
//! JSON ([`error`]). `trainer serve` is [`run`]; `trainer serve-bench` is
//! [`load_test::run`]; `trainer export --web`, the page as a static site
//! that reads in the browser, is [`site::export`]; `trainer board`, every
//! run of an artifacts folder in the browser, is [`board::run`].

pub mod api;
pub mod args;
pub mod board;
pub mod config;
mod connections;
mod error;
pub mod load_test;
pub mod model;
mod page;
mod picture;
mod queue;
mod routes;
mod server;
pub mod site;

pub use config::ServeConfig;
pub use server::Server;

use anyhow::Result;

use crate::args::ServeArgs;

/// `trainer serve`.
pub fn run(args: ServeArgs) -> Result<()> {
    let server = Server::start(ServeConfig::try_from(&args)?)?;
    let addr = server.addr()?;
    let model = server.model();
    let accuracy = match (model.validation_accuracy, model.epoch) {
        (Some(a), Some(e)) => format!("validation accuracy {a:.2} % at epoch {e}"),
        _ => "no validation metrics in the run".to_string(),
    };
    println!(
        "serving {} ({accuracy}; {} parameters) from {} on {}",
        model.network, model.parameters, model.run, model.backend
    );
    println!(
        "open http://{addr}/ (API: POST /api/predict, GET /api/model, GET /api/health); Ctrl-C stops"
    );
    server::runtime()?.block_on(server.run(server::stop_signal()))?;
    println!("stopped");
    Ok(())
}
