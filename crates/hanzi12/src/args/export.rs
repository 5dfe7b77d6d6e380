//! `trainer export`.

use clap::Args;
use std::path::PathBuf;

use super::CheckpointArg;

/// Write a run's best weights as .safetensors under the PyTorch reference's state_dict names.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    /// The .safetensors file to write (replaced if it exists).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the network's logits of these images (files or folders) to --logits,
    /// to check another framework's output against ours.
    #[arg(long, num_args = 1.., requires = "logits")]
    pub images: Vec<PathBuf>,
    /// CSV for the logits of --images: path,logit_1,...,logit_12 (f32 values, exact).
    #[arg(long, requires = "images")]
    pub logits: Option<PathBuf>,
}
