//! `trainer synth`.

use clap::Args;
use std::path::PathBuf;

use crate::data::{SYNTH_PER_CLASS, SYNTH_SEED};

/// Write the built-in synthetic handwriting in the course layout.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Folder to write <k>/<n>.bmp into.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = SYNTH_PER_CLASS)]
    pub per_class: usize,
    #[arg(long, default_value_t = SYNTH_SEED)]
    pub seed: u64,
}
