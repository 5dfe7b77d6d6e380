//! `trainer sweep`.

use clap::Args;
use hanzi12::args::TrainArgs;
use std::path::PathBuf;

use crate::sweep::{PrunerKind, SamplerKind};

/// Search a recipe: trials of `trainer train` with settings chosen by TPE (or at random, or on a grid), trailing trials pruned after an epoch, each trial an ordinary run folder under --out. Running it again goes on where it stopped.
#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The sweep's name (its folder: artifacts/sweeps/NAME).
    pub name: String,
    /// A setting to search, SETTING=DOMAIN, named as in a recipe file (`trainer train --print-recipe`): lr=log:1e-4:1e-2, model.dropout=float:0:0.5, patience=int:0:3, batch_size=choice:32,64,128; several allowed [default: lr, batch_size, label_smoothing, weight_decay and augment.scheme around the main job's recipe].
    #[arg(long = "search", value_name = "SETTING=DOMAIN")]
    pub search: Vec<String>,
    /// A file of SETTING=DOMAIN lines (# starts a comment), searched with any --search.
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,
    /// Trials the sweep ends with (finished or pruned).
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    #[arg(long, value_enum, default_value = "tpe")]
    pub sampler: SamplerKind,
    /// Stop a trial whose validation accuracy trails after an epoch: median (below the other trials' median), halving (successive halving), none.
    #[arg(long, value_enum, default_value = "median")]
    pub pruner: PrunerKind,
    /// Seed of the sampler's draws (each trial trains with the recipe's --seed).
    #[arg(long, default_value_t = 0)]
    pub sweep_seed: u64,
    /// Trials trained at once, each by its own worker process sharing the journal (with --slurm: the job array's tasks).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Write the workers as a Slurm job array (--jobs tasks, requeue-safe) on the one journal, and a report job after them, and say how to submit them; options after `--` go to both jobs as #SBATCH lines.
    #[arg(long, conflicts_with_all = ["report", "worker"])]
    pub slurm: bool,
    /// The sweep's folder [default: artifacts/sweeps/NAME].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report (report.md, report.png) of the sweep so far, training nothing.
    #[arg(long)]
    pub report: bool,
    /// Run as one worker of a sweep (what --jobs starts), training nothing else.
    #[arg(long, hide = true)]
    pub worker: bool,
    /// With --slurm: options for both jobs, as #SBATCH lines (e.g. `-- --partition=gpu --time=04:00:00`).
    #[arg(last = true, requires = "slurm", value_name = "SBATCH OPTIONS")]
    pub sbatch: Vec<String>,
    /// The settings not searched: `trainer train`'s flags (--model, --data, --epochs, --recipe, --backend, …).
    #[command(flatten)]
    pub train: TrainArgs,
}
