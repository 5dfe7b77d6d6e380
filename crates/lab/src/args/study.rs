//! `trainer study`.

use clap::Args;
use hanzi12::args::{BackendArg, DataArgs};
use std::path::PathBuf;

use crate::study::StudyName;

/// Reproduce one of the course report's studies (or all): train, plot, write REPORT.md.
#[derive(Args, Debug)]
pub struct StudyArgs {
    #[arg(value_enum)]
    pub name: StudyName,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub backend: BackendArg,
    /// A few minutes in all: 1 seed, 2 MLP epochs and 1 CNN epoch on 24 images per class.
    #[arg(long)]
    pub quick: bool,
    /// Seeds per setting [default: 3; --quick: 1].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Epochs of the MLP studies [default: 30; --quick: 2].
    #[arg(long)]
    pub mlp_epochs: Option<usize>,
    /// Epochs of the CNN studies [default: 10; --quick: 1].
    #[arg(long)]
    pub cnn_epochs: Option<usize>,
    /// Folder of the studies and REPORT.md [default: artifacts/studies; --quick: artifacts/studies-quick].
    #[arg(long)]
    pub out: Option<PathBuf>,
}
