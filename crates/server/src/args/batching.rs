//! The batching limits `serve` and `serve-bench` share.

use clap::Args;

/// How many images one forward pass answers, and how long an image waits.
#[derive(Args, Debug, Clone, Copy)]
pub struct BatchingArgs {
    /// Most images answered by one forward pass.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest an image waits, in milliseconds, for requests already received to join its pass.
    #[arg(long, default_value_t = 2.0)]
    pub max_wait_ms: f64,
}
