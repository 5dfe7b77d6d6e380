//! Training with Burn's `Learner`: the main job. [`train`] reads as its
//! steps; each step is a function below it.

use anyhow::{Context, Result, bail};
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{ModuleOptimizer, SgdConfig};
use burn::prelude::Device;
use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::logger::FileMetricLogger;
use burn::train::metric::store::{Aggregate, Direction, Split as BurnSplit};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{
    Interrupter, Learner, LearningResult, MetricEarlyStoppingStrategy, StoppingCondition,
    SupervisedTraining,
};
use dataset::{Augmented, Hanzi12, Hanzi12Batch, Hanzi12Batcher};
use models::Network;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use crate::atomic::write_atomic;
use crate::config::{OptimizerKind, Schedule, TrainConfig};
use crate::metrics::{EpochRow, best_valid};
use crate::optim::FusedAdam;
use crate::progress::{Divergence, DivergenceSlot, EpochTable, QuietRenderer};
use crate::run_dir::{CheckpointKind, RunDir, RunLock};

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
    pub run: RunDir,
    /// Why training ended before its last epoch (Ctrl-C, early stopping).
    pub stopped_early: Option<String>,
}

/// Trains `config` into `run`; with `launch.resume`, continues the run saved there.
pub fn train(
    config: &TrainConfig,
    run: &RunDir,
    launch: Launch,
    interrupter: Interrupter,
) -> Result<Outcome> {
    config.check()?;
    // A backend that cannot start is refused before anything is written.
    let device = config.backend.device()?;
    // A resumed run is locked before its progress is read; a new one only
    // when it is first written, so a refused start leaves no folder behind.
    let resume_lock = launch.resume.then(|| run.lock()).transpose()?;
    let start_epoch = start_epoch(config, run, launch);
    let (train_set, valid_set) = split_data(config)?;
    device.seed(config.seed);
    let model = initial_model(config, &device.clone().autodiff(), start_epoch)?;
    let _lock = take_folder(config, run, resume_lock)?;
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

    let loaders = Loaders::new(config, train_set, valid_set, start_epoch);
    let scheduler = scheduler(config, loaders.steps_per_epoch(config.batch_size))?;
    let diverged = DivergenceSlot::default();
    let training = supervised_training(
        config,
        run,
        launch,
        start_epoch,
        loaders,
        &interrupter,
        &diverged,
    );
    let started = Instant::now();
    let result = training.launch(Learner::new(model, optimizer(config), scheduler));
    finish(run, result, started, diverged.get())
}

/// The epoch training continues after: the last complete one when
/// resuming, else 0.
fn start_epoch(config: &TrainConfig, run: &RunDir, launch: Launch) -> usize {
    if !launch.resume {
        return 0;
    }
    let start = run.last_complete_epoch().unwrap_or(0);
    if start >= config.epochs {
        println!(
            "{} already finished all {} epochs",
            run.path().display(),
            config.epochs
        );
    }
    start
}

/// The run's data, split into training and validation sets, each image as
/// the network sees it (normalised where the run says so).
fn split_data(config: &TrainConfig) -> Result<(Hanzi12, Hanzi12)> {
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
    let normalise = config.normalise.as_ref();
    Ok((
        train_set.normalised(normalise),
        valid_set.normalised(normalise),
    ))
}

/// The network to start from: random, or with the weights of `--init`
/// (not when resuming: the checkpoint has the weights then).
fn initial_model(config: &TrainConfig, device: &Device, start_epoch: usize) -> Result<Network> {
    let model = config.model.init(device);
    let Some(from) = config.init.as_ref().filter(|_| start_epoch == 0) else {
        return Ok(model);
    };
    let source = RunDir::new(from);
    let model = source
        .load_weights(model, &config.model)
        .with_context(|| format!("--init {}", from.display()))?;
    println!("starting from the weights of {}", source.model().display());
    Ok(model)
}

/// The run folder, locked for this process, with the config written first:
/// that also proves the folder writable before any training.
fn take_folder(config: &TrainConfig, run: &RunDir, locked: Option<RunLock>) -> Result<RunLock> {
    let lock = match locked {
        Some(lock) => lock,
        None => run.create()?,
    };
    write_atomic(&run.config(), config.to_string().as_bytes())?;
    Ok(lock)
}

/// The training and validation loaders, and the images of an epoch of each.
struct Loaders {
    train: Arc<dyn DataLoader<Hanzi12Batch>>,
    valid: Arc<dyn DataLoader<Hanzi12Batch>>,
    /// Images per epoch: training (augmented views), validation.
    items: [usize; 2],
}

impl Loaders {
    fn new(config: &TrainConfig, train: Hanzi12, valid: Hanzi12, start_epoch: usize) -> Self {
        let batcher = Hanzi12Batcher::new(config.convention);
        // The dataset, not the loader, shuffles: its order is a function of
        // (seed, epoch), so a resumed run sees what the uninterrupted one would.
        let train = Augmented::new(train, config.augment.clone(), config.seed)
            .shuffled()
            .starting_at_epoch(start_epoch as u64);
        let items = [train.len(), valid.len()];
        let loader = |batcher| {
            DataLoaderBuilder::new(batcher)
                .batch_size(config.batch_size)
                .num_workers(config.workers)
        };
        let smoothed = batcher.with_smoothing(config.label_smoothing);
        Loaders {
            train: loader(smoothed).build(train),
            valid: loader(batcher).build(valid),
            items,
        }
    }

    fn steps_per_epoch(&self, batch_size: usize) -> usize {
        self.items[0].div_ceil(batch_size)
    }
}

/// The learning rate over the run's steps.
fn scheduler(config: &TrainConfig, steps_per_epoch: usize) -> Result<ModuleLrScheduler> {
    Ok(match config.schedule {
        Schedule::Constant => config.lr.into(),
        Schedule::Cosine => {
            CosineAnnealingLrSchedulerConfig::new(config.lr, config.epochs * steps_per_epoch)
                .init()
                .map_err(|e| anyhow::anyhow!("--lr {}: {e}", config.lr))?
        }
    })
}

fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let weight_decay =
        (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32));
    match config.optimizer {
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
    }
}

/// Burn's supervised training of the run: metrics, the epoch table (and the
/// dashboard on a terminal), atomic checkpoints, early stopping, resuming.
fn supervised_training(
    config: &TrainConfig,
    run: &RunDir,
    launch: Launch,
    start_epoch: usize,
    loaders: Loaders,
    interrupter: &Interrupter,
    diverged: &DivergenceSlot,
) -> SupervisedTraining<Network> {
    let earlier_rows: Vec<EpochRow> = run
        .rows()
        .into_iter()
        .filter(|r| r.epoch <= start_epoch)
        .collect();
    let dashboard = std::io::stdout().is_terminal();
    let table = EpochTable::new(
        run.metrics(),
        earlier_rows,
        loaders.items,
        config.epochs,
        !dashboard,
        interrupter.clone(),
        diverged.clone(),
    );
    let mut training = SupervisedTraining::new(run.path(), loaders.train, loaders.valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .with_metric_logger(FileMetricLogger::new(run.path()))
        .with_metric_logger(table)
        .with_custom_checkpointers(
            run.checkpointer(CheckpointKind::Model),
            run.checkpointer(CheckpointKind::Optimizer),
            run.checkpointer(CheckpointKind::Scheduler),
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
            BurnSplit::Valid,
            StoppingCondition::NoImprovementSince {
                n_epochs: config.patience,
            },
        ));
    }
    if start_epoch > 0 {
        println!(
            "resuming {} after epoch {start_epoch}",
            run.path().display()
        );
        training = training.checkpoint(start_epoch);
    }
    training
}

/// Keeps the best epoch's model as the run's model, and turns a divergence
/// or an error into one that says what was kept.
fn finish(
    run: &RunDir,
    result: LearningResult<Network>,
    started: Instant,
    diverged: Option<&Divergence>,
) -> Result<Outcome> {
    let seconds = started.elapsed().as_secs_f64();
    let stopped_early = result
        .interrupted
        .as_ref()
        .map(|i| i.reason.clone().unwrap_or_else(|| "stopped".to_string()));
    let error = result.error.clone();
    // Dropping the renderer closes the dashboard before anything is printed.
    drop(result);

    let best = best_valid(&run.rows()).cloned();
    if let Some(best) = &best {
        run.keep_model_of(best.epoch)?;
    }
    if let Some(divergence) = diverged {
        let kept = match &best {
            Some(best) => format!(
                "the best checkpoint (epoch {}) is kept in {}",
                best.epoch,
                run.model().display()
            ),
            None => "no epoch finished before it, so there is no model to keep".to_string(),
        };
        bail!("training {divergence}; {kept} (try a lower --lr)");
    }
    if let Some(error) = error {
        bail!(
            "training stopped by an error: {error} (the checkpoints saved before it are kept in {})",
            run.path().display()
        );
    }
    Ok(Outcome {
        best,
        seconds,
        run: run.clone(),
        stopped_early,
    })
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
