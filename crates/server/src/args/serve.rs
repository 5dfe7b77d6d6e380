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
    /// Seconds a request may take, its body included, before it is answered 408.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_s: f64,
}
