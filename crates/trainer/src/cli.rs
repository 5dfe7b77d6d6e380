//! Every flag of every command, and how flags become the settings of the
//! code they drive. A new subcommand is an `Args` struct here, a variant of
//! [`Command`], and a line in `main`'s dispatch.

use anyhow::{Context, Result, bail};
use backprop::Activation as ScratchActivation;
use clap::{Args, Parser, Subcommand};
use dataset::{AugmentConfig, AugmentScheme, Centre, Hanzi12, NormaliseConfig, PixelConvention};
use models::{Activation, ModelConfig, ModelError, ModelOptions};
use std::path::{Path, PathBuf};

use crate::backend::Backend;
use crate::config::{self, OptimizerKind, Schedule, TrainConfig};
use crate::data::{self, DataSource};
use crate::ensemble::Views;
use crate::scratch::{self, HanziConfig, HanziNet, Scratch, ScratchTask, SineConfig};
use crate::study::StudyName;

const EXAMPLES: &str = "Examples:
  trainer --model cnn_res --data ../shared/hanzi12/train     train (on flex, the CPU backend)
  trainer --model cnn_res --backend wgpu                     train on a GPU
  trainer devices                                            the GPU adapter --backend wgpu uses
  trainer predict --checkpoint artifacts/cnn_res-<time> some/image.bmp
  trainer eval --checkpoint artifacts/cnn_res-<time> --data ../shared/hanzi12/train
  trainer serve --checkpoint artifacts/cnn_res-<time>       a page to write on, and an HTTP API
  trainer export --checkpoint artifacts/cnn_res-<time> --out cnn_res.safetensors
  trainer import model.pt --model cnn_res --out artifacts/from-pytorch
  trainer synth --out /tmp/synth --per-class 620
  trainer study all --data ../shared/hanzi12/train           the course report's studies";

/// Train, evaluate and use networks that read 12 handwritten Chinese
/// characters (博学笃志切问近思自由无用). Without a subcommand it trains.
#[derive(Parser, Debug)]
#[command(version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a network (the default command).
    Train(TrainArgs),
    /// Predict the characters of images with a trained run.
    Predict(PredictArgs),
    /// Score a trained run on every image of a labelled class-folder root.
    Eval(EvalArgs),
    /// Write the built-in synthetic handwriting in the course layout.
    Synth(SynthArgs),
    /// Draw real and synthetic samples of each class side by side (real ones
    /// from --data, else data/train; without either, synthetic ones only).
    Sheet(SheetArgs),
    /// Measure training, inference and data-pipeline throughput and memory.
    Bench(BenchArgs),
    /// Train with the hand-written backpropagation (no autodiff): sine fit, MLP or CNN.
    Scratch(ScratchArgs),
    /// Reproduce one of the course report's studies (or all): train, plot, write REPORT.md.
    Study(StudyArgs),
    /// List the GPU adapters wgpu finds and the one `--backend wgpu` uses (an error where none).
    Devices,
    /// Write a run's best weights as .safetensors under the PyTorch reference's state_dict names.
    Export(ExportArgs),
    /// Make a run folder from a .safetensors or PyTorch .pt/.pth state_dict of one of the six networks.
    Import(ImportArgs),
    /// Serve a trained run: a web page to write a character on, and an HTTP API.
    Serve(ServeArgs),
    /// Load-test a served run with concurrent clients on loopback.
    ServeBench(ServeBenchArgs),
}

/// `--data`: the same flag, with the same default, in every command.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Class-folder root <DIR>/<k>/<n>.bmp [default: data/train if present, else built-in synthetic handwriting].
    #[arg(long = "data", value_name = "DIR")]
    pub path: Option<PathBuf>,
}

impl DataArgs {
    /// Where the images come from: `--data`, else `data/train`, else
    /// `synthetic_per_class` synthetic images per class drawn with `seed`.
    pub fn source(&self, seed: u64, synthetic_per_class: usize) -> DataSource {
        DataSource::resolve(self.path.as_deref(), seed, synthetic_per_class)
    }

    /// The images of [`source`](Self::source), in memory.
    pub fn load(&self, seed: u64, synthetic_per_class: usize) -> Result<Hanzi12> {
        self.source(seed, synthetic_per_class)
            .load()
            .context("--data")
    }

    /// Real images only (`--data`, else `data/train`), if there are any.
    pub fn load_real(&self) -> Result<Option<Hanzi12>> {
        DataSource::real(self.path.as_deref())
            .map(|source| source.load().context("--data"))
            .transpose()
    }
}

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Network: mlp, cnn, cnn_bn, cnn_dropout, cnn_bn_dropout, cnn_res.
    #[arg(long, default_value = "cnn_res")]
    pub model: String,
    #[command(flatten)]
    pub network: ModelFlags,
    /// flex (CPU), ndarray (CPU) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    #[command(flatten)]
    pub data: DataArgs,
    /// Passes over the training data [default: 10; the mlp: 30].
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = config::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
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
    // The default: with --normalise mass, 99.60 % on the course data's
    // validation split in a quarter of views4's steps (README).
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
    /// Continue the run saved in --artifacts from its last complete epoch.
    #[arg(long, requires = "artifacts")]
    pub resume: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum NormaliseArg {
    Mass,
    Box,
    None,
}

impl NormaliseArg {
    pub fn config(self) -> Option<NormaliseConfig> {
        let centre = match self {
            NormaliseArg::Mass => Centre::Mass,
            NormaliseArg::Box => Centre::Box,
            NormaliseArg::None => return None,
        };
        Some(NormaliseConfig {
            centre,
            ..NormaliseConfig::default()
        })
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ConventionArg {
    Ink,
    Raw,
}

impl ConventionArg {
    pub fn convention(self) -> PixelConvention {
        match self {
            ConventionArg::Ink => PixelConvention::Ink,
            ConventionArg::Raw => PixelConvention::Raw,
        }
    }
}

impl TrainArgs {
    /// The run these flags describe.
    pub fn config(&self) -> Result<TrainConfig> {
        let model = model_config(&self.model, &self.network.options())?;
        let epochs = self
            .epochs
            .unwrap_or_else(|| config::default_epochs(&model));
        let config = TrainConfig {
            model,
            data: self.data.source(self.seed, data::SYNTH_PER_CLASS),
            backend: self.backend,
            epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            optimizer: self.optimizer,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            schedule: self.schedule,
            augment: AugmentConfig::new().with_scheme(self.augment),
            convention: self.convention.convention(),
            normalise: self.normalise.config(),
            // 0 is the same as no smoothing, and saved as such.
            label_smoothing: self.label_smoothing.filter(|&alpha| alpha != 0.0),
            valid_ratio: self.valid_ratio,
            seed: self.seed,
            workers: self.workers,
            patience: self.patience,
            init: self.init.clone(),
        };
        config.check()?;
        Ok(config)
    }
}

/// The options that may come with `--model`; training and `import` take the
/// same ones.
#[derive(Args, Debug, Clone)]
pub struct ModelFlags {
    /// MLP hidden layer sizes, e.g. 256,128 (default 256).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub hidden: Option<Vec<usize>>,
    /// MLP activation: leakyrelu (default), sigmoid, relu, tanh.
    #[arg(long)]
    pub activation: Option<Activation>,
    /// Dropout probability (mlp: default 0; *_dropout models: default 0.25); for import, the one the network was trained with (it moves the MLP's layer numbers).
    #[arg(long)]
    pub dropout: Option<f64>,
}

impl ModelFlags {
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            hidden: self.hidden.clone(),
            activation: self.activation,
            dropout: self.dropout,
        }
    }
}

/// The network `--model name` asks for, with the flag that is wrong named
/// in an error (the `models` crate knows no flags).
pub fn model_config(name: &str, options: &ModelOptions) -> Result<ModelConfig> {
    ModelConfig::from_name(name, options).map_err(|e| {
        let flag = match &e {
            ModelError::UnknownModel(_) => format!("--model {name}"),
            ModelError::BadDropout(_) => "--dropout".to_string(),
            ModelError::BadHidden(_) => "--hidden".to_string(),
            ModelError::MlpOnly { option, .. } => format!("--{option}"),
        };
        anyhow::anyhow!("{flag}: {e}")
    })
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Run folder written by training; give it several times for an ensemble (probabilities averaged).
    #[arg(long, required = true)]
    pub checkpoint: Vec<PathBuf>,
    /// Also average over each image shifted one pixel up, down, left and right (test-time augmentation).
    #[arg(long)]
    pub tta: bool,
    /// Images, or folders of images.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Characters shown per image.
    #[arg(long, default_value_t = 3)]
    pub top_k: usize,
    /// Also write path,class,character,probability to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Run folder written by training; give it several times for an ensemble (probabilities averaged).
    #[arg(long, required = true)]
    pub checkpoint: Vec<PathBuf>,
    /// Also average over each image shifted one pixel up, down, left and right (test-time augmentation).
    #[arg(long)]
    pub tta: bool,
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
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run folder written by training (its best weights, model.bpk, are exported).
    #[arg(long)]
    pub checkpoint: PathBuf,
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

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A .safetensors file, or a PyTorch state_dict saved with torch.save as .pt or .pth.
    pub file: PathBuf,
    /// The network the weights are for: mlp, cnn, cnn_bn, cnn_dropout, cnn_bn_dropout, cnn_res.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub network: ModelFlags,
    /// Pixels the network expects: ink (ink = 1) or raw (white = 1) [default: the file's metadata, else ink].
    #[arg(long)]
    pub convention: Option<ConventionArg>,
    /// How the network's images were normalised: mass, box or none [default: the file's metadata, else none: raw 28x28 boxes, as bench/pytorch_reference.py trains].
    #[arg(long)]
    pub normalise: Option<NormaliseArg>,
    /// The run folder to create (must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}

/// The test-time views `--tta` asks for.
pub fn views(tta: bool) -> Views {
    if tta { Views::Shifts } else { Views::One }
}

impl ImportArgs {
    /// The network `--model` and its options name.
    pub fn model(&self) -> Result<ModelConfig> {
        model_config(&self.model, &self.network.options())
    }
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Folder to write <k>/<n>.bmp into.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = data::SYNTH_PER_CLASS)]
    pub per_class: usize,
    #[arg(long, default_value_t = data::SYNTH_SEED)]
    pub seed: u64,
}

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
    #[arg(long, default_value_t = data::SYNTH_SEED)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Networks to measure, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "cnn_res")]
    pub model: Vec<String>,
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// Training batch size.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Timed training steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    // Images for the data-pipeline figure.
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object per line per model.
    #[arg(long)]
    pub json: bool,
    /// Instead: time each layer of cnn_res alone, forward and forward + backward.
    #[arg(long)]
    pub layers: bool,
    /// Instead: time training steps from this run's trained weights on real
    /// batches beside fresh weights, with subnormal floats kept and flushed.
    #[arg(long, value_name = "RUN")]
    pub trained: Option<PathBuf>,
    /// Turns of each way with --trained (each turn: --steps steps).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

impl BenchArgs {
    pub fn check(&self) -> Result<()> {
        if self.batch == 0 || self.steps == 0 || self.rounds == 0 {
            bail!("--batch, --steps and --rounds must be at least 1");
        }
        Ok(())
    }
}

/// Train with hand-written backpropagation (no autodiff).
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
    pub activation: Option<ScratchActivation>,
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
}

/// "Epochs [default: sine 800, mlp 30, cnn 20]", from the tasks' configs.
fn per_task(what: &str, setting: impl Fn(&scratch::Training) -> String) -> String {
    format!("{what} [default: {}]", scratch::defaults_per_task(setting))
}

impl ScratchArgs {
    /// The task's config: its defaults, with what the flags change.
    pub fn scratch(&self) -> Result<Scratch> {
        let mut training = self.task.training();
        training.epochs = self.epochs.unwrap_or(training.epochs);
        training.lr = self.lr.unwrap_or(training.lr);
        training.momentum = self.momentum.unwrap_or(training.momentum);
        training.batch_size = self.batch_size.unwrap_or(training.batch_size);
        training.activation = self.activation.unwrap_or(training.activation);
        training.seed = self.seed;
        let mut hanzi = match self.task {
            ScratchTask::Sine => {
                let defaults = SineConfig::default();
                return Ok(Scratch::Sine(SineConfig {
                    training,
                    layers: self.layers.clone().unwrap_or(defaults.layers),
                    dropout: self.dropout,
                    points: self.sine_points,
                }));
            }
            ScratchTask::Mlp => {
                let mut config = HanziConfig::mlp();
                if let HanziNet::Mlp { layers, dropout } = &mut config.net {
                    *layers = self.layers.clone().unwrap_or(layers.clone());
                    *dropout = self.dropout;
                }
                config
            }
            ScratchTask::Cnn => {
                if self.layers.is_some() {
                    bail!("--layers is for the MLP tasks");
                }
                if self.dropout != 0.0 {
                    bail!("--dropout is for the MLP tasks");
                }
                HanziConfig::cnn()
            }
        };
        hanzi.data = self.data.source(self.seed, data::SYNTH_PER_CLASS);
        hanzi.training = training;
        hanzi.valid_ratio = self.valid_ratio;
        hanzi.shift = self.shift;
        hanzi.cosine = self.cosine;
        Ok(Scratch::Hanzi(hanzi))
    }
}

/// Run one of the course report's studies (or all): train, plot, report.
#[derive(Args, Debug)]
pub struct StudyArgs {
    #[arg(value_enum)]
    pub name: StudyName,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
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

/// The run folder of a new run: `--artifacts`, else a new dated folder.
pub fn new_run_folder(artifacts: Option<&Path>, config: &TrainConfig) -> PathBuf {
    artifacts.map(Path::to_path_buf).unwrap_or_else(|| {
        PathBuf::from("artifacts").join(format!(
            "{}-{}",
            config.model.name(),
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn scratch(argv: &[&str]) -> ScratchArgs {
        let argv = ["trainer", "scratch"].iter().chain(argv);
        match Cli::try_parse_from(argv).unwrap().command {
            Some(Command::Scratch(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scratch_flags_change_the_tasks_defaults() {
        let Scratch::Hanzi(cnn) = scratch(&[]).scratch().unwrap() else {
            panic!("cnn is the default task");
        };
        assert_eq!(cnn.training, HanziConfig::cnn().training);
        let args = scratch(&[
            "--task",
            "mlp",
            "--layers",
            "784,128,12",
            "--activation",
            "sigmoid",
            "--lr",
            "0.1",
            "--cosine",
            "false",
            "--shift",
            "0",
        ]);
        let Scratch::Hanzi(mlp) = args.scratch().unwrap() else {
            panic!("an mlp task");
        };
        assert_eq!(
            mlp.net,
            HanziNet::Mlp {
                layers: vec![784, 128, 12],
                dropout: 0.0
            }
        );
        assert_eq!(mlp.training.activation, ScratchActivation::Sigmoid);
        assert_eq!((mlp.training.lr, mlp.cosine, mlp.shift), (0.1, false, 0));
        assert_eq!(mlp.training.epochs, HanziConfig::mlp().training.epochs);
        let Scratch::Sine(sine) = scratch(&["--task", "sine"]).scratch().unwrap() else {
            panic!("a sine task");
        };
        assert_eq!(sine, SineConfig::default());
        assert!(scratch(&["--layers", "784,12"]).scratch().is_err());
    }

    #[test]
    fn label_smoothing_zero_is_off() {
        let smoothing = |argv: &[&str]| {
            let argv = ["trainer"].iter().chain(argv);
            let cli = Cli::try_parse_from(argv).unwrap();
            cli.train.config().unwrap().label_smoothing
        };
        assert_eq!(smoothing(&[]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0"]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0.1"]), Some(0.1));
    }

    #[test]
    fn model_errors_name_the_flag() {
        let bad = |options: ModelOptions, name: &str| {
            model_config(name, &options).unwrap_err().to_string()
        };
        let dropout = ModelOptions {
            dropout: Some(1.5),
            ..Default::default()
        };
        assert!(bad(dropout, "cnn").starts_with("--dropout: "));
        assert!(bad(ModelOptions::default(), "resnet").starts_with("--model resnet: "));
        let activation = ModelOptions {
            activation: Some(Activation::Sigmoid),
            ..Default::default()
        };
        assert!(bad(activation, "cnn").starts_with("--activation: "));
    }
}

/// `serve`: a trained run behind a web page and an HTTP API.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Run folder written by training [default: the newest run under artifacts/].
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Address to listen on: loopback unless you say otherwise (0.0.0.0:8080 for every interface).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// Most images answered by one forward pass.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest an image waits, in milliseconds, for requests already received to join its pass.
    #[arg(long, default_value_t = 2.0)]
    pub max_wait_ms: f64,
    /// Seconds a request may take, its body included, before it is answered 408.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_s: f64,
}

/// `serve-bench`: a served run under concurrent clients on loopback.
#[derive(Args, Debug)]
pub struct ServeBenchArgs {
    /// Run folder written by training [default: the newest run under artifacts/].
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// Concurrent clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    pub clients: Vec<usize>,
    /// Requests per measurement, shared among the clients.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// The server's batching limits (see `serve`).
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    #[arg(long, default_value_t = 2.0)]
    pub max_wait_ms: f64,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}
