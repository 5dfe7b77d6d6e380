//! `trainer serve-bench`.

use clap::Args;
use hanzi12::args::{BackendArg, CheckpointArg};

use super::BatchingArgs;

/// Load-test a served run with concurrent clients on loopback.
#[derive(Args, Debug)]
pub struct ServeBenchArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    #[command(flatten)]
    pub backend: BackendArg,
    /// Concurrent clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub clients: Vec<usize>,
    /// Requests per measurement, shared among the clients.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// The server's batching limits (see `serve`).
    #[command(flatten)]
    pub batching: BatchingArgs,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}
