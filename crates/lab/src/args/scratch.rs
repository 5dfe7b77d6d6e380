//! `trainer scratch`.

use clap::Args;
use hanzi12::args::DataArgs;

use crate::scratch::{HanziConfig, ScratchTask, SineConfig, Training, defaults_per_task};

/// Train with the hand-written backpropagation (no autodiff): sine fit, MLP or CNN.
#[derive(Args, Debug, Clone)]
pub struct ScratchArgs {
    /// sine, mlp or cnn.
    #[arg(long, value_enum, default_value_t = ScratchTask::Cnn)]
    pub task: ScratchTask,
    // For mlp and cnn.
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, help = per_task("Epochs", |s| s.epochs.to_string()))]
    pub epochs: Option<usize>,
    #[arg(long, help = per_task("Learning rate", |s| s.lr.to_string()))]
    pub lr: Option<f64>,
    #[arg(long, help = per_task("SGD momentum", |s| s.momentum.to_string()))]
    pub momentum: Option<f64>,
    #[arg(long, help = per_task("Mini-batch size", |s| s.batch_size.to_string()))]
    pub batch_size: Option<usize>,
    #[arg(long, help = per_task("Hidden activation: leaky-relu, relu, sigmoid, tanh", |s| s.activation.to_string()))]
    pub activation: Option<backprop::Activation>,
    /// MLP layer sizes, input first, e.g. 784,256,12 [default: sine 1,16,32,1; mlp 784,256,12].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub layers: Option<Vec<usize>>,
    /// Dropout probability after each hidden MLP layer.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Fraction of each class held out for validation (the last files).
    #[arg(long, default_value_t = dataset::DEFAULT_VALID_RATIO)]
    pub valid_ratio: f64,
    /// Sine task: number of random training points (test: 1000 evenly spaced).
    #[arg(long, default_value_t = SineConfig::default().points)]
    pub sine_points: usize,
    /// Hanzi tasks: shift each training image by a random whole number of
    /// pixels in [-N, N] along each axis, fresh every epoch (0 = off).
    #[arg(long, default_value_t = HanziConfig::cnn().shift)]
    pub shift: usize,
    /// Decay the learning rate along a half cosine to 0 over the epochs.
    #[arg(long, default_value_t = HanziConfig::cnn().cosine, action = clap::ArgAction::Set)]
    pub cosine: bool,
    /// Seed for weights, shuffling, dropout and the sine samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train in f64 instead of f32 (slower; for comparison).
    #[arg(long)]
    pub f64: bool,
    /// Sine task: also save the fit into this folder (metrics.csv, fit.csv, and fit.json, which `study sine` reads); a folder that holds a finished fit is kept, not fitted again.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// "Epochs [default: sine 800, mlp 30, cnn 20]", from the tasks' configs.
fn per_task(what: &str, setting: impl Fn(&Training) -> String) -> String {
    format!("{what} [default: {}]", defaults_per_task(setting))
}
