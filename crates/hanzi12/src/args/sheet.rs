//! `trainer sheet`.

use clap::Args;
use std::path::PathBuf;

use super::DataArgs;
use crate::data::SYNTH_SEED;

/// Draw real and synthetic samples of each class side by side (real ones
/// from --data, else data/train; without either, synthetic ones only).
#[derive(Args, Debug)]
pub struct SheetArgs {
    /// PNG file to write.
    #[arg(long)]
    pub out: PathBuf,
    // Real images beside the synthetic ones: only real data, never the synthetic fallback.
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, default_value_t = 8)]
    pub per_class: usize,
    #[arg(long, default_value_t = SYNTH_SEED)]
    pub seed: u64,
}
