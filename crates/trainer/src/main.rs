//! `trainer`: train, evaluate and use the Hanzi12 networks.

mod atomic;
mod backend;
mod bench;
mod data;
mod infer;
mod optim;
mod progress;
mod scratch;
mod serve;
mod study;
mod train;

use anyhow::{Context, Result, bail};
use burn::data::dataset::Dataset;
use clap::{Args, Parser, Subcommand};
use dataset::{AugmentConfig, AugmentScheme, Hanzi12, PixelConvention};
use models::{Activation, ModelConfig, ModelOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backend::Backend;
use crate::data::DataSource;
use crate::train::{OptimizerKind, RunDir, Schedule, TrainConfig};

/// Training allocates and frees tensors of tens of megabytes every step. The
/// system allocator hands such blocks back to the kernel and takes them
/// again, paying a page fault per 4 KB each time; mimalloc keeps them, once
/// told to (see [`keep_freed_memory`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3), which the sys crate
/// names the options around but not this one.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Stops mimalloc from returning freed memory to the kernel (by default after
/// a delay), which it then had to fault in and zero again step after step:
/// `trainer bench --model cnn_res` took 9,500 page faults without this and
/// 1,150 with it, and peaked at 284 MB instead of 269.
fn keep_freed_memory() {
    // SAFETY: setting an option is safe at any time; -1 means "never purge".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

const EXAMPLES: &str = "Examples:
  trainer --model cnn_res --data ../shared/hanzi12/train     train (on flex, the CPU backend)
  trainer --model cnn_res --backend wgpu                     train on a GPU
  trainer predict --checkpoint artifacts/cnn_res-<time> some/image.bmp
  trainer eval --checkpoint artifacts/cnn_res-<time> --data ../shared/hanzi12/train
  trainer serve --checkpoint artifacts/cnn_res-<time>       a page to write on, and an HTTP API
  trainer synth --out /tmp/synth --per-class 620
  trainer study all --data ../shared/hanzi12/train           the course report's studies";

/// Train, evaluate and use networks that read 12 handwritten Chinese
/// characters (博学笃志切问近思自由无用). Without a subcommand it trains.
#[derive(Parser, Debug)]
#[command(version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a network (the default command).
    Train(TrainArgs),
    /// Predict the characters of images with a trained run.
    Predict(PredictArgs),
    /// Score a trained run on every image of a labelled class-folder root.
    Eval(EvalArgs),
    /// Write the built-in synthetic handwriting in the course layout.
    Synth(SynthArgs),
    /// Draw real and synthetic samples of each class side by side.
    Sheet(SheetArgs),
    /// Measure training, inference and data-pipeline throughput and memory.
    Bench(BenchArgs),
    /// Train with the hand-written backpropagation (no autodiff): sine fit, MLP or CNN.
    Scratch(scratch::ScratchArgs),
    /// Reproduce one of the course report's studies (or all): train, plot, write REPORT.md.
    Study(study::StudyArgs),
    /// Serve a trained run: a web page to write a character on, and an HTTP API.
    Serve(serve::ServeArgs),
    /// Load-test a served run with concurrent clients on loopback.
    ServeBench(serve::bench::ServeBenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Networks to measure, or `all`.
    #[arg(long, value_delimiter = ',', default_value = "cnn_res")]
    model: Vec<String>,
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Training batch size.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed training steps (after 3 warm-up steps).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Images for the data-pipeline figure [default: $HANZI12_DATA or ../shared/hanzi12/train, else synthetic].
    #[arg(long)]
    data: Option<PathBuf>,
    /// One JSON object per line per model.
    #[arg(long)]
    json: bool,
    /// Instead: time each layer of cnn_res alone, forward and forward + backward.
    #[arg(long)]
    layers: bool,
}

#[derive(Args, Debug, Clone)]
struct TrainArgs {
    /// Network: mlp, cnn, cnn_bn, cnn_dropout, cnn_bn_dropout, cnn_res.
    #[arg(long, default_value = "cnn_res")]
    model: String,
    /// MLP hidden layer sizes, e.g. 256,128 (default 256).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    hidden: Option<Vec<usize>>,
    /// MLP activation: leakyrelu (default), sigmoid, relu, tanh.
    #[arg(long)]
    activation: Option<Activation>,
    /// Dropout probability (mlp: default 0; *_dropout models: default 0.25).
    #[arg(long)]
    dropout: Option<f64>,
    /// flex (CPU), ndarray (CPU) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Class-folder root <DIR>/<k>/<n>.bmp [default: data/train if present, else built-in synthetic data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Passes over the training data [default: 10; the mlp: 30].
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = train::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Learning rate (peak of the schedule).
    #[arg(long, default_value_t = train::DEFAULT_LR, allow_negative_numbers = true)]
    lr: f64,
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerKind,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Learning-rate schedule: cosine (decay to 0 over the run) or constant.
    #[arg(long, value_enum, default_value = "cosine")]
    schedule: Schedule,
    /// Training augmentation: views4 (each image plain, translated, cropped, noised), random (one view per item), none.
    #[arg(long, default_value = "views4")]
    augment: AugmentScheme,
    /// Pixel convention: ink (ink = 1) or raw (white = 1, as in the files).
    #[arg(long, value_enum, default_value = "ink")]
    convention: ConventionArg,
    /// Fraction of each class held out for validation (the last files by number).
    #[arg(long, default_value_t = dataset::DEFAULT_VALID_RATIO)]
    valid_ratio: f64,
    #[arg(long, default_value_t = train::DEFAULT_SEED)]
    seed: u64,
    /// Data-loading threads.
    #[arg(long, default_value_t = train::DEFAULT_WORKERS)]
    workers: usize,
    /// Stop after this many epochs without a better validation loss (0: never).
    #[arg(long, default_value_t = 0)]
    patience: usize,
    /// Run folder [default: artifacts/<model>-<date-time>].
    #[arg(long)]
    artifacts: Option<PathBuf>,
    /// Start from the weights of a trained run folder (fine-tuning) instead of random ones.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Continue the run saved in --artifacts from its last complete epoch.
    #[arg(long, requires = "artifacts")]
    resume: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ConventionArg {
    Ink,
    Raw,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// Run folder written by training.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Images, or folders of images.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Characters shown per image.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Also write path,class,character,probability to this CSV file.
    #[arg(long)]
    csv: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    backend: Backend,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Run folder written by training.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Labelled class-folder root.
    #[arg(long)]
    data: PathBuf,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
    /// Folder for confusion.png and mistakes.png [default: <checkpoint>/eval].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value = "flex")]
    backend: Backend,
}

#[derive(Args, Debug)]
struct SynthArgs {
    /// Folder to write <k>/<n>.bmp into.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = data::SYNTH_PER_CLASS)]
    per_class: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Args, Debug)]
struct SheetArgs {
    /// PNG file to write.
    #[arg(long)]
    out: PathBuf,
    /// Real class-folder root to show beside the synthetic samples.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 8)]
    per_class: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> ExitCode {
    keep_freed_memory();
    // A bug should still end in one line that says where, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}: {}", message.replace('\n', " "));
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        None => run_train(cli.train),
        Some(Command::Train(args)) => run_train(args),
        Some(Command::Predict(args)) => run_predict(args),
        Some(Command::Eval(args)) => run_eval(args),
        Some(Command::Synth(args)) => run_synth(args),
        Some(Command::Sheet(args)) => run_sheet(args),
        Some(Command::Bench(args)) => run_bench(args),
        Some(Command::Scratch(args)) => scratch::run(&args),
        Some(Command::Study(args)) => study::run(&args),
        Some(Command::Serve(args)) => serve::run(&args),
        Some(Command::ServeBench(args)) => serve::bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn train_config(args: &TrainArgs) -> Result<TrainConfig> {
    let options = ModelOptions {
        hidden: args.hidden.clone(),
        activation: args.activation,
        dropout: args.dropout,
    };
    let model = ModelConfig::from_name(&args.model, &options)
        .map_err(|e| anyhow::anyhow!("--model {}: {e}", args.model))?;
    let epochs = args.epochs.unwrap_or_else(|| train::default_epochs(&model));
    let config = TrainConfig {
        model,
        data: DataSource::resolve(args.data.as_deref(), args.seed),
        backend: args.backend,
        epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer: args.optimizer,
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        schedule: args.schedule,
        augment: AugmentConfig::new().with_scheme(args.augment),
        convention: match args.convention {
            ConventionArg::Ink => PixelConvention::Ink,
            ConventionArg::Raw => PixelConvention::Raw,
        },
        valid_ratio: args.valid_ratio,
        seed: args.seed,
        workers: args.workers,
        patience: args.patience,
        init: args.init.clone(),
    };
    config.check()?;
    Ok(config)
}

fn run_train(args: TrainArgs) -> Result<()> {
    let (config, run) = if args.resume {
        let dir = args
            .artifacts
            .clone()
            .expect("clap requires --artifacts with --resume");
        let run = RunDir(dir);
        (run.load_config()?, run)
    } else {
        let config = train_config(&args)?;
        let dir = args.artifacts.clone().unwrap_or_else(|| {
            PathBuf::from("artifacts").join(format!(
                "{}-{}",
                config.model.name(),
                chrono::Local::now().format("%Y%m%d-%H%M%S")
            ))
        });
        if train::holds_a_run(&dir) {
            bail!(
                "--artifacts {}: already holds a run (use --resume to continue it, or another folder)",
                dir.display()
            );
        }
        (config, RunDir(dir))
    };
    let interrupter =
        train::stop_on_ctrl_c("the finished epochs are saved (continue with --resume)")?;

    let launch = train::Launch {
        resume: args.resume,
        ..Default::default()
    };
    let outcome = train::train(&config, &run, launch, interrupter)?;
    if let Some(reason) = &outcome.stopped_early {
        println!("stopped before the last epoch: {reason}");
    }
    match &outcome.best {
        Some(best) => println!(
            "done: best validation accuracy {:.2}% (loss {:.4}) at epoch {}, {:.0} s, artifacts in {}",
            best.accuracy,
            best.loss,
            best.epoch,
            outcome.seconds,
            outcome.run_dir.display()
        ),
        None => bail!(
            "no epoch finished with a finite validation loss; nothing to keep in {}",
            outcome.run_dir.display()
        ),
    }
    Ok(())
}

fn run_predict(args: PredictArgs) -> Result<()> {
    let trained = infer::Trained::load(&args.checkpoint, args.backend)?;
    infer::predict(&trained, &args.paths, args.top_k, args.csv.as_deref())
}

fn run_eval(args: EvalArgs) -> Result<()> {
    let trained = infer::Trained::load(&args.checkpoint, args.backend)?;
    let data = Hanzi12::open(&args.data).map_err(|e| anyhow::anyhow!("--data: {e}"))?;
    let evaluation = infer::evaluate(&trained, &data);
    let out = args.out.unwrap_or_else(|| args.checkpoint.join("eval"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    infer::save_png(&evaluation.confusion_png(), &out.join("confusion.png"))?;
    infer::save_png(&evaluation.mistakes_png(120), &out.join("mistakes.png"))?;
    if args.json {
        println!("{}", serde_json::to_string(&evaluation)?);
    } else {
        print!("{}", evaluation.report());
        println!(
            "\nwrote {0}/confusion.png and {0}/mistakes.png",
            out.display()
        );
    }
    Ok(())
}

fn run_synth(args: SynthArgs) -> Result<()> {
    let data = data::synthetic(args.per_class, args.seed);
    write_course_layout(&data, &args.out, args.per_class)?;
    println!(
        "wrote {} synthetic images to {}/<k>/<n>.bmp",
        data.len(),
        args.out.display()
    );
    Ok(())
}

/// Writes items (in class order, `per_class` each) as `<out>/<k>/<n>.bmp`.
fn write_course_layout(data: &Hanzi12, out: &Path, per_class: usize) -> Result<()> {
    for (i, item) in data.items().iter().enumerate() {
        let dir = out.join((item.label + 1).to_string());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.bmp", i % per_class + 1));
        atomic::write_atomic(&path, &dataset::bmp::encode_bmp_1bit(&item.image))?;
    }
    Ok(())
}

fn run_sheet(args: SheetArgs) -> Result<()> {
    let real = args
        .data
        .as_ref()
        .map(Hanzi12::open)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--data: {e}"))?;
    let synth = dataset::synth::SyntheticHanzi12::new(
        dataset::synth::SynthConfig::new(),
        args.per_class,
        args.seed,
    );
    let sheet = dataset::sheet::contact_sheet(
        real.as_ref()
            .map(|r| r as &dyn Dataset<dataset::Hanzi12Item>),
        &synth,
        args.per_class,
    );
    infer::save_png(&sheet, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

fn run_bench(args: BenchArgs) -> Result<()> {
    if args.batch == 0 || args.steps == 0 {
        bail!("--batch and --steps must be at least 1");
    }
    if args.layers {
        for f in bench::layers(args.backend, args.batch, args.steps)? {
            if args.json {
                println!("{}", serde_json::to_string(&f)?);
            } else {
                println!(
                    "{:<26} batch {}: forward {:7.2} ms, forward + backward {:7.2} ms",
                    f.layer, f.batch, f.forward_ms, f.forward_backward_ms
                );
            }
        }
        return Ok(());
    }
    let data = match args.data.clone().or_else(dataset::real_data_root) {
        Some(root) => Hanzi12::open(&root).map_err(|e| anyhow::anyhow!("--data: {e}"))?,
        None => data::synthetic(100, 1),
    };
    for f in bench::bench(&args.model, args.backend, args.batch, args.steps, &data)? {
        if args.json {
            println!("{}", serde_json::to_string(&f)?);
        } else {
            println!(
                "{} on {}: train {:.0} img/s (batch {}; per step forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms), inference {:.0} img/s (batch {}), {:.0} img/s at batch 1 ({:.2} ms), data pipeline {:.0} img/s, decode {:.0} img/s, peak RSS {:.0} MB",
                f.model,
                f.backend,
                f.train_img_per_s,
                f.batch,
                f.forward_ms,
                f.backward_ms,
                f.optimizer_ms,
                f.infer_img_per_s,
                f.infer_batch,
                f.infer_batch1_img_per_s,
                f.latency_ms,
                f.data_img_per_s,
                f.decode_img_per_s,
                f.peak_rss_mb
            );
        }
    }
    Ok(())
}
