//! `trainer eval`.

use clap::Args;
use std::path::PathBuf;

use super::{BackendArg, CheckpointArg, DataArgs, TtaArg};

/// Score a trained run on every image of a labelled class-folder root.
#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    #[command(flatten)]
    pub tta: TtaArg,
    #[command(flatten)]
    pub data: DataArgs,
    /// Score only the images the (first) run held out for validation: the same split of the same data as its training.
    #[arg(long)]
    pub held_out: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Folder for confusion.png and mistakes.png [default: <checkpoint>/eval].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArg,
}
