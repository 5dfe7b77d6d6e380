//! `trainer serve`.

use clap::Args;
use hanzi12::args::{BackendArg, CheckpointArg};

use super::BatchingArgs;

/// Serve a trained run: a web page to write a character on, and an HTTP API.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    /// Address to listen on: loopback unless you say otherwise (0.0.0.0:8080 for every interface).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[command(flatten)]
    pub backend: BackendArg,
    #[command(flatten)]
    pub batching: BatchingArgs,
    /// Seconds a request may take once its headers are in, its body included, before it is answered 408.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_s: f64,
    /// Seconds a connection may take to send a request's headers (from when it opens, or its previous answer) before it is closed.
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_s: f64,
    /// Connections open at once; the next are answered 503 and closed.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
}
