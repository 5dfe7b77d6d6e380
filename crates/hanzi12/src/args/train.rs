//! `trainer` / `trainer train`: the main job's flags.

use clap::Args;
use dataset::AugmentScheme;
use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{BackendArg, ConventionArg, DataArgs, ModelArgs, NormaliseArg};
use crate::config::{self, OptimizerKind, Schedule};

/// Train a network (the default command).
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub backend: BackendArg,
    #[command(flatten)]
    pub data: DataArgs,
    /// Passes over the training data [default: 10; the mlp: 30; half as many on the built-in synthetic data, which has twice the images]; with --resume, a new length for the run.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per optimizer step (split evenly across --devices).
    #[arg(long, default_value_t = config::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Devices that train the run together through Burn's multi-device strategy: with --backend wgpu the N best adapters, with a CPU backend N workers sharing the CPU. Each trains on an equal share of every step's batch, and Burn combines their gradients into one step (docs/devices.md).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Learning rate (peak of the schedule).
    #[arg(long, default_value_t = config::DEFAULT_LR, allow_negative_numbers = true)]
    pub lr: f64,
    #[arg(long, value_enum, default_value = "adam")]
    pub optimizer: OptimizerKind,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Learning-rate schedule: cosine (decay to 0 over the run) or constant.
    #[arg(long, value_enum, default_value = "cosine")]
    pub schedule: Schedule,
    /// Training augmentation: views4 (each image plain, translated, cropped, noised), random (one view per item), handwriting (rotation, slant, scale, pen, elastic), none.
    // The default: with --normalise mass, the best held-out accuracy in a
    // quarter of views4's steps (docs/accuracy.md).
    #[arg(long, default_value = "random")]
    pub augment: AugmentScheme,
    /// Ink normalisation of every image (training, validation, predict, eval, serve): mass (crop to the ink, scale its longer side to 22 px, centre by mass), box (centre the ink's box), none (the raw 28x28 boxes, as the course did).
    #[arg(long, value_enum, default_value = "mass")]
    pub normalise: NormaliseArg,
    /// Label smoothing of the training loss, e.g. 0.1 (each target 1 - α on its class, α spread over all 12); 0 or absent: off.
    #[arg(long)]
    pub label_smoothing: Option<f32>,
    /// Pixel convention: ink (ink = 1) or raw (white = 1, as in the files).
    #[arg(long, value_enum, default_value = "ink")]
    pub convention: ConventionArg,
    /// Fraction of each class held out for validation (the last files by number).
    #[arg(long, default_value_t = dataset::DEFAULT_VALID_RATIO)]
    pub valid_ratio: f64,
    /// Images per class: the first N files of each class of the data folder, or N synthetic images per class [default: every file; synthetic: 620].
    #[arg(long, value_name = "N")]
    pub per_class: Option<usize>,
    /// Seed of the synthetic images, when there is no data folder [default: --seed].
    #[arg(long)]
    pub data_seed: Option<u64>,
    #[arg(long, default_value_t = config::DEFAULT_SEED)]
    pub seed: u64,
    /// Data-loading threads.
    #[arg(long, default_value_t = config::DEFAULT_WORKERS)]
    pub workers: usize,
    /// Stop after this many epochs without a better validation loss (0: never).
    #[arg(long, default_value_t = 0)]
    pub patience: usize,
    /// Run folder [default: artifacts/<model>-<date-time>].
    #[arg(long)]
    pub artifacts: Option<PathBuf>,
    /// Start from the weights of a trained run folder (fine-tuning) instead of random ones.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Continue the run saved in --artifacts from its last complete epoch (--backend, --devices and --workers may change; --epochs extends or shortens the run; other settings are the run's own).
    #[arg(long, requires = "artifacts")]
    pub resume: bool,
    /// Keep every epoch's checkpoint, not only the last two and the best (to measure each epoch afterwards, as `study regularise` does).
    #[arg(long)]
    pub keep_every_epoch: bool,
    /// The flags given on the command line, as opposed to defaults: filled
    /// in by the command line's parser (see [`Given`]).
    #[arg(skip)]
    pub given: Given,
}

/// The long names of the flags a command line gave (`"lr"`, `"backend"`),
/// so that `--resume` can tell a flag the user chose from a default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Given(pub BTreeSet<String>);

impl Given {
    pub fn contains(&self, flag: &str) -> bool {
        self.0.contains(flag)
    }
}
