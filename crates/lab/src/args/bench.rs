//! `trainer bench`.

use anyhow::{Result, bail};
use clap::Args;
use hanzi12::args::{BackendArg, DataArgs};
use std::path::PathBuf;

/// Measure training, inference and data-pipeline throughput and memory.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Networks to measure, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "cnn_res")]
    pub model: Vec<String>,
    #[command(flatten)]
    pub backend: BackendArg,
    /// Training batch size.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Timed training steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    // Images for the data-pipeline figure.
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object per line per model.
    #[arg(long)]
    pub json: bool,
    /// Instead: time each layer of cnn_res alone, forward and forward + backward.
    #[arg(long)]
    pub layers: bool,
    /// Instead: time training steps from this run's trained weights on real
    /// batches beside fresh weights, with subnormal floats kept and flushed.
    #[arg(long, value_name = "RUN")]
    pub trained: Option<PathBuf>,
    /// Turns of each way with --trained (each turn: --steps steps).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

impl BenchArgs {
    pub fn check(&self) -> Result<()> {
        if self.batch == 0 || self.steps == 0 || self.rounds == 0 {
            bail!("--batch, --steps and --rounds must be at least 1");
        }
        Ok(())
    }
}
