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
    /// Print the study's runs instead of training them: one line per run, the `trainer` command that trains it into its own folder (with --resume where the folder already holds a run), for any scheduler.
    #[arg(long, conflicts_with_all = ["collect", "slurm"])]
    pub plan: bool,
    /// With --plan: JSON lines (study, label, seed, dir, progress, argv, command).
    #[arg(long, requires = "plan")]
    pub json: bool,
    /// Write the section, figures and REPORT.md from the finished run folders, without training; refused, naming them, while any run is missing or unfinished.
    #[arg(long, conflicts_with = "slurm")]
    pub collect: bool,
    /// Write a Slurm job array of the plan (one task per run, requeue-safe) and a collect job that waits for it, and say how to submit them; options after `--` go to both jobs as #SBATCH lines (e.g. `-- --partition=gpu --time=04:00:00`).
    #[arg(long)]
    pub slurm: bool,
    #[arg(last = true, requires = "slurm", value_name = "SBATCH OPTIONS")]
    pub sbatch: Vec<String>,
}
