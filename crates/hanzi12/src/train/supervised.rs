//! Burn's supervised training of a run: metrics, the epoch table (and the
//! dashboard on a terminal), atomic checkpoints, early stopping, resuming.

use burn::prelude::Device;
use burn::train::checkpoint::{CheckpointingAction, CheckpointingStrategy};
use burn::train::logger::FileMetricLogger;
use burn::train::metric::store::{Aggregate, Direction, Split as BurnSplit};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{
    ExecutionStrategy, Interrupter, MetricEarlyStoppingStrategy, MultiDeviceOptim,
    StoppingCondition, SupervisedTraining,
};
use models::Trainee;
use std::io::IsTerminal;

use super::loaders::Loaders;
use crate::metrics::EpochRow;
use crate::recipe::RunSettings;
use crate::run_dir::RunDir;
use crate::watch::{DivergenceSlot, EpochTable, QuietRenderer};

/// Where training starts: a new run (epoch 0) or after a saved epoch.
pub struct Start {
    pub epoch: usize,
    /// The rows of `metrics.csv` up to `epoch`.
    pub earlier_rows: Vec<EpochRow>,
}

/// The run's training, ready to launch with a `Learner`.
pub fn training(
    settings: &RunSettings,
    run: &RunDir,
    start: Start,
    loaders: Loaders,
    devices: Vec<Device>,
    interrupter: &Interrupter,
    diverged: &DivergenceSlot,
) -> SupervisedTraining<Trainee> {
    let (recipe, execution) = (&settings.recipe, &settings.execution);
    let dashboard = std::io::stdout().is_terminal();
    let table = EpochTable::new(
        run.metrics(),
        start.earlier_rows,
        loaders.items,
        recipe.epochs,
        !dashboard,
        interrupter.clone(),
        diverged.clone(),
    );
    let [model, optimizer, scheduler] = run.checkpointers();
    let mut training = SupervisedTraining::new(run.path(), loaders.train, loaders.valid)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        .metric_train_numeric(LearningRateMetric::new())
        .with_metric_logger(FileMetricLogger::new(run.path()))
        .with_metric_logger(table)
        .with_custom_checkpointers(model, optimizer, scheduler)
        .with_interrupter(interrupter.clone())
        .num_epochs(recipe.epochs);
    if !dashboard {
        training = training.renderer(Box::new(QuietRenderer));
    }
    if devices.len() > 1 {
        // Each step, every device trains on its own batch and the first one
        // adds their gradients up and takes the optimizer step.
        let strategy = ExecutionStrategy::multi(devices, MultiDeviceOptim::OptimMainDevice);
        training = training.with_training_strategy(strategy.into());
    }
    if execution.keep_every_epoch {
        training = training.with_checkpointing_strategy(KeepEveryEpoch);
    }
    if recipe.patience > 0 {
        training = training.early_stopping(early_stopping(recipe.patience));
    }
    if start.epoch > 0 {
        println!(
            "resuming {} after epoch {}",
            run.path().display(),
            start.epoch
        );
        training = training.checkpoint(start.epoch);
    }
    training
}

/// Stops when the validation loss has not improved for `patience` epochs.
fn early_stopping(patience: usize) -> MetricEarlyStoppingStrategy {
    MetricEarlyStoppingStrategy::new(
        &LossMetric::new(),
        Aggregate::Mean,
        Direction::Lowest,
        BurnSplit::Valid,
        StoppingCondition::NoImprovementSince { n_epochs: patience },
    )
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
