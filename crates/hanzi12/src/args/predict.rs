//! `trainer predict`.

use clap::Args;
use std::path::PathBuf;

use super::{BackendArg, CheckpointArg, TtaArg};

/// Predict the characters of images with a trained run.
#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    #[command(flatten)]
    pub tta: TtaArg,
    /// Images, or folders of images.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Characters shown per image.
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// Also write path,class,character,probability (of the most probable class) and every
    /// class's probability (p1..p12, in class order) to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArg,
}
