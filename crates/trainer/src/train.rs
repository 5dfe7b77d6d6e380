//! Training with Burn's `Learner`: the main job.

use anyhow::{Context, Result, bail};
use burn::config::Config;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::Module;
use burn::optim::SgdConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::logger::FileMetricLogger;
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{
    Interrupter, Learner, MetricEarlyStoppingStrategy, StoppingCondition, SupervisedTraining,
};
use dataset::{AugmentConfig, Augmented, Hanzi12Batcher, PixelConvention};
use models::{ModelConfig, Network};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::atomic::{copy_atomic, temp_path, write_atomic};
use crate::backend::Backend;
use crate::data::DataSource;
use crate::optim::FusedAdam;
use crate::progress::{DIVERGED, EpochRow, EpochTable, QuietRenderer, read_metrics};

/// Defaults of a run, shared by `TrainConfig` and the command line.
pub const DEFAULT_EPOCHS: usize = 10;
/// An MLP epoch costs about a second on CPU, and the MLP is still improving
/// after 10 (95.7 % valid at 10, 97.5 % at 30 on the course data).
pub const DEFAULT_MLP_EPOCHS: usize = 30;
pub const DEFAULT_BATCH_SIZE: usize = 64;
pub const DEFAULT_LR: f64 = 1e-3;
pub const DEFAULT_SEED: u64 = 42;
/// One loader thread keeps the batch order, and so the run, reproducible;
/// loading is a small fraction of a training step (see `bench`).
pub const DEFAULT_WORKERS: usize = 1;

/// Epochs of a run when `--epochs` is not given.
pub fn default_epochs(model: &ModelConfig) -> usize {
    match model {
        ModelConfig::Mlp(_) => DEFAULT_MLP_EPOCHS,
        _ => DEFAULT_EPOCHS,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[default]
    Adam,
    Sgd,
}

/// How the learning rate moves over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine decay from `lr` to zero over all steps of the run.
    #[default]
    Cosine,
    Constant,
}

/// Every setting of a run: saved as `config.json` in the run folder, enough
/// to rebuild the model and to repeat or resume the run.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub data: DataSource,
    #[config(default = "Backend::Flex")]
    pub backend: Backend,
    #[config(default = "DEFAULT_EPOCHS")]
    pub epochs: usize,
    #[config(default = "DEFAULT_BATCH_SIZE")]
    pub batch_size: usize,
    #[config(default = "DEFAULT_LR")]
    pub lr: f64,
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// SGD momentum (0 for plain SGD).
    #[config(default = 0.9)]
    pub momentum: f64,
    #[config(default = 0.0)]
    pub weight_decay: f64,
    #[config(default = "Schedule::Cosine")]
    pub schedule: Schedule,
    #[config(default = "AugmentConfig::new()")]
    pub augment: AugmentConfig,
    #[config(default = "PixelConvention::Ink")]
    pub convention: PixelConvention,
    #[config(default = "dataset::DEFAULT_VALID_RATIO")]
    pub valid_ratio: f64,
    #[config(default = "DEFAULT_SEED")]
    pub seed: u64,
    #[config(default = "DEFAULT_WORKERS")]
    pub workers: usize,
    /// Stop when validation loss has not improved for this many epochs (0: never).
    #[config(default = 0)]
    pub patience: usize,
    /// Start from the weights of this run folder (fine-tuning) instead of a
    /// random initialisation; the networks must be the same.
    #[config(default = "None")]
    pub init: Option<PathBuf>,
}

impl TrainConfig {
    /// Refuses settings that cannot train, naming the flag.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            bail!("--batch-size 0: expected at least 1");
        }
        if self.epochs == 0 {
            bail!("--epochs 0: expected at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr {}: expected a positive number", self.lr);
        }
        if self.schedule == Schedule::Cosine && self.lr > 1.0 {
            bail!(
                "--lr {}: the cosine schedule takes a learning rate of at most 1 (use --schedule constant)",
                self.lr
            );
        }
        if !(self.valid_ratio > 0.0 && self.valid_ratio < 1.0) {
            bail!(
                "--valid-ratio {}: expected a number between 0 and 1",
                self.valid_ratio
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            bail!(
                "--weight-decay {}: expected 0 or a positive number",
                self.weight_decay
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("--momentum {}: expected a number in [0, 1)", self.momentum);
        }
        if self.workers == 0 {
            bail!("--workers 0: expected at least 1");
        }
        Ok(())
    }
}

/// The files of a run folder.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.csv")
    }
    /// The best model by validation loss: what `predict` and `eval` load.
    pub fn model(&self) -> PathBuf {
        self.0.join("model.bpk")
    }
    pub fn checkpoints(&self) -> PathBuf {
        self.0.join("checkpoint")
    }
    /// A checkpoint file: `kind` is model, optim or scheduler.
    pub fn checkpoint(&self, kind: &str, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("{kind}-{epoch}.bpk"))
    }

    /// The last epoch whose model, optimizer and scheduler were all saved.
    pub fn last_complete_epoch(&self) -> Option<usize> {
        let entries = std::fs::read_dir(self.checkpoints()).ok()?;
        entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse::<usize>()
                    .ok()
            })
            .filter(|&epoch| {
                ["optim", "scheduler"]
                    .iter()
                    .all(|k| self.checkpoint(k, epoch).is_file())
            })
            .max()
    }

    /// `network` (built from `model`) with this run's best weights loaded;
    /// weights saved for another network are an error naming the file.
    pub fn load_weights(&self, network: Network, model: &ModelConfig) -> Result<Network> {
        let weights = self.model();
        network.try_load_file(&weights).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot load the weights of a {} model: {e}",
                weights.display(),
                model.name()
            )
        })
    }

    pub fn load_config(&self) -> Result<TrainConfig> {
        let path = self.config();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {} (is this a run folder?)", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid run config", path.display()))
    }
}

/// Burn's file checkpointer, but writing to a temporary name and renaming,
/// so a kill during a save leaves the previous checkpoints intact.
struct AtomicCheckpointer {
    directory: PathBuf,
    name: &'static str,
}

impl AtomicCheckpointer {
    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        let temp = temp_path(&path);
        record.save(temp.clone())?;
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(CheckpointerError::IOError)?;
        std::fs::rename(&temp, &path).map_err(CheckpointerError::IOError)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }
}

/// Keeps the checkpoint of every epoch, for studies that look at how a
/// network changes over training (Burn's default keeps the last two and the best).
struct KeepEveryEpoch;

impl CheckpointingStrategy for KeepEveryEpoch {
    fn checkpointing(
        &mut self,
        _epoch: usize,
        _store: &burn::train::metric::store::EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        vec![CheckpointingAction::Save]
    }
}

/// How `train` starts and what it keeps: not part of the run's settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Launch {
    /// Continue the run saved in the run folder from its last complete epoch.
    pub resume: bool,
    /// Keep every epoch's checkpoint instead of the last two and the best.
    pub keep_every_epoch: bool,
}

/// What a finished (or stopped) run reports.
pub struct Outcome {
    pub best: Option<EpochRow>,
    pub seconds: f64,
    pub run_dir: PathBuf,
    pub stopped_early: Option<String>,
}

/// Trains `config` into `run`; with `launch.resume`, continues the run saved there.
pub fn train(
    config: &TrainConfig,
    run: &RunDir,
    launch: Launch,
    interrupter: Interrupter,
) -> Result<Outcome> {
    let resume = launch.resume;
    config.check()?;
    // A backend that cannot start is refused before anything is written.
    let device = config.backend.device()?;
    let start_epoch = if resume {
        run.last_complete_epoch().unwrap_or(0)
    } else {
        0
    };
    if resume && start_epoch >= config.epochs {
        println!(
            "{} already finished all {} epochs",
            run.0.display(),
            config.epochs
        );
    }
    let data = config.data.load()?;
    let (train_set, valid_set) = data.split(config.valid_ratio);
    if train_set.is_empty() || valid_set.is_empty() {
        bail!(
            "{}: {} images are too few to split into training and validation (--valid-ratio {})",
            config.data.describe(),
            data.len(),
            config.valid_ratio
        );
    }
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let mut model = config.model.init(&train_device);
    if let Some(from) = config.init.as_ref().filter(|_| start_epoch == 0) {
        let source = RunDir(from.clone());
        model = source
            .load_weights(model, &config.model)
            .with_context(|| format!("--init {}", from.display()))?;
        println!("starting from the weights of {}", source.model().display());
    }
    // Only now, with data and model in hand, is anything written; the config
    // goes first, which also proves the folder writable before any training.
    std::fs::create_dir_all(run.checkpoints())
        .with_context(|| format!("cannot create the artifacts folder {}", run.0.display()))?;
    write_atomic(&run.config(), config.to_string().as_bytes())?;
    println!(
        "training {} ({} parameters) on {}: {} train / {} valid images, backend {}, {} epochs",
        config.model.describe(),
        model.num_trainable_params(),
        config.data.describe(),
        train_set.len(),
        valid_set.len(),
        config.backend,
        config.epochs
    );

    let batcher = Hanzi12Batcher::new(config.convention);
    // The dataset, not the loader, shuffles: its order is a function of
    // (seed, epoch), so a resumed run sees what the uninterrupted one would.
    let train_items = Augmented::new(train_set, config.augment.clone(), config.seed)
        .shuffled()
        .starting_at_epoch(start_epoch as u64);
    let epoch_items = [train_items.len(), valid_set.len()];
    let train_loader = DataLoaderBuilder::new(batcher)
        .batch_size(config.batch_size)
        .num_workers(config.workers)
        .build(train_items);
    let valid_loader = DataLoaderBuilder::new(batcher)
        .batch_size(config.batch_size)
        .num_workers(config.workers)
        .build(valid_set);

    let steps = config.epochs * epoch_items[0].div_ceil(config.batch_size);
    let scheduler: ModuleLrScheduler = match config.schedule {
        Schedule::Constant => config.lr.into(),
        Schedule::Cosine => CosineAnnealingLrSchedulerConfig::new(config.lr, steps)
            .init()
            .map_err(|e| anyhow::anyhow!("--lr {}: {e}", config.lr))?,
    };
    let weight_decay =
        (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
    let optimizer = match config.optimizer {
        // PyTorch's epsilon, 1e-8 (Burn's default is 1e-5).
        OptimizerKind::Adam => {
            FusedAdam::new(1e-8, weight_decay.as_ref().map(|w| w.penalty)).init()
        }
        OptimizerKind::Sgd => SgdConfig::new()
            .with_weight_decay(weight_decay)
            .with_momentum((config.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(config.momentum)
                    .with_dampening(0.0)
            }))
            .init(),
    };

    let earlier_rows: Vec<EpochRow> = read_metrics(&run.metrics())
        .into_iter()
        .filter(|r| r.epoch <= start_epoch)
        .collect();
    let dashboard = std::io::stdout().is_terminal();
    let table = EpochTable::new(
        run.metrics(),
        earlier_rows,
        epoch_items,
        config.epochs,
        !dashboard,
        interrupter.clone(),
    );
    let checkpointer = |name| AtomicCheckpointer {
        directory: run.checkpoints(),
        name,
    };
    let mut training = SupervisedTraining::new(&run.0, train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .with_metric_logger(FileMetricLogger::new(run.0.clone()))
        .with_metric_logger(table)
        .with_custom_checkpointers(
            checkpointer("model"),
            checkpointer("optim"),
            checkpointer("scheduler"),
        )
        .with_interrupter(interrupter.clone())
        .num_epochs(config.epochs);
    if !dashboard {
        training = training.renderer(Box::new(QuietRenderer));
    }
    if launch.keep_every_epoch {
        training = training.with_checkpointing_strategy(KeepEveryEpoch);
    }
    if config.patience > 0 {
        training = training.early_stopping(MetricEarlyStoppingStrategy::new(
            &LossMetric::new(),
            Aggregate::Mean,
            Direction::Lowest,
            Split::Valid,
            StoppingCondition::NoImprovementSince {
                n_epochs: config.patience,
            },
        ));
    }
    if start_epoch > 0 {
        println!("resuming {} after epoch {start_epoch}", run.0.display());
        training = training.checkpoint(start_epoch);
    }

    let started = Instant::now();
    let result = training.launch(Learner::new(model, optimizer, scheduler));
    let seconds = started.elapsed().as_secs_f64();
    let stopped_early = result
        .interrupted
        .as_ref()
        .map(|i| i.reason.clone().unwrap_or_else(|| "stopped".to_string()));
    let error = result.error.clone();
    // Dropping the renderer closes the dashboard before anything is printed.
    drop(result);

    let rows = read_metrics(&run.metrics());
    let best = rows
        .iter()
        .filter(|r| r.split == "valid" && r.loss.is_finite())
        .min_by(|a, b| a.loss.total_cmp(&b.loss))
        .cloned();
    if let Some(best) = &best {
        copy_atomic(&run.checkpoint("model", best.epoch), &run.model())?;
    }
    if let Some(reason) = stopped_early.as_deref().filter(|r| r.starts_with(DIVERGED)) {
        let kept = match &best {
            Some(best) => format!(
                "the best checkpoint (epoch {}) is kept in {}",
                best.epoch,
                run.model().display()
            ),
            None => "no epoch finished before it, so there is no model to keep".to_string(),
        };
        bail!("training {reason}; {kept} (try a lower --lr)");
    }
    if let Some(error) = error {
        bail!(
            "training stopped by an error: {error} (the checkpoints saved before it are kept in {})",
            run.0.display()
        );
    }
    Ok(Outcome {
        best,
        seconds,
        run_dir: run.0.clone(),
        stopped_early,
    })
}

/// An interrupter that Ctrl-C trips: training stops at the end of the
/// current step, after printing `how_to_continue`.
pub fn stop_on_ctrl_c(how_to_continue: &'static str) -> Result<Interrupter> {
    let interrupter = Interrupter::new();
    let on_ctrl_c = interrupter.clone();
    ctrlc::set_handler(move || {
        eprintln!("Ctrl-C: stopping at the end of this step; {how_to_continue}");
        on_ctrl_c.stop(Some("interrupted by Ctrl-C"));
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(interrupter)
}

/// Whether a run folder already holds a run that a new one would overwrite.
pub fn holds_a_run(dir: &Path) -> bool {
    dir.join("config.json").exists() || dir.join("checkpoint").exists()
}
