//! Training with Burn's `Learner`: the main job. [`train`] reads as its
//! steps; each step is a function below it or a file beside it.

mod interrupt;
mod loaders;
mod optimizer;
mod supervised;

pub use interrupt::stop_on_ctrl_c;

use anyhow::{Context, Result, bail};
use burn::data::dataset::Dataset;
use burn::prelude::Device;
use burn::train::{Interrupter, Learner, LearningResult};
use dataset::Hanzi12;
use models::Network;
use std::time::Instant;

use crate::config::TrainConfig;
use crate::metrics::EpochRow;
use crate::run_dir::{Progress, RunDir};
use crate::watch::{Divergence, DivergenceSlot};
use loaders::Loaders;

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
    let devices = config.backend.devices(config.devices)?;
    // The first device holds the model, the optimizer and validation.
    let device = devices[0].clone();
    // A resumed run is locked before its progress is read; a new one only
    // when it is first written, so a refused start leaves no folder behind.
    let progress = run.open(launch.resume)?;
    if progress.start_epoch >= config.epochs {
        println!(
            "{} already finished all {} epochs",
            run.path().display(),
            config.epochs
        );
    }
    let (train_set, valid_set) = split_data(config)?;
    for device in &devices {
        device.seed(config.seed);
    }
    let model = initial_model(config, &device.clone().autodiff(), &progress)?;
    let start_epoch = progress.start_epoch;
    let (_lock, earlier_rows) = progress.take(run, config)?;
    announce(config, &model, [train_set.len(), valid_set.len()]);

    let loaders = Loaders::new(config, train_set, valid_set, start_epoch);
    let scheduler = optimizer::scheduler(config, loaders.steps_per_epoch())?;
    let diverged = DivergenceSlot::default();
    let training = supervised::training(
        config,
        run,
        supervised::Start {
            launch,
            epoch: start_epoch,
            earlier_rows,
        },
        loaders,
        devices,
        &interrupter,
        &diverged,
    );
    let started = Instant::now();
    let learner = Learner::new(model, optimizer::optimizer(config), scheduler);
    let result = training.launch(learner);
    finish(run, result, started, diverged.get())
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
fn initial_model(config: &TrainConfig, device: &Device, progress: &Progress) -> Result<Network> {
    let model = config.model.init(device);
    let Some(from) = config.init.as_ref().filter(|_| progress.start_epoch == 0) else {
        return Ok(model);
    };
    let source = RunDir::new(from);
    let model = source
        .load_weights(model, &config.model)
        .with_context(|| format!("--init {}", from.display()))?;
    println!("starting from the weights of {}", source.model().display());
    Ok(model)
}

/// What is about to train, on what, in one line.
fn announce(config: &TrainConfig, model: &Network, [train, valid]: [usize; 2]) {
    let devices = match config.devices {
        1 => String::new(),
        n => format!(
            " on {n} devices ({} images each of every step's {})",
            config.batch_size / n,
            config.batch_size
        ),
    };
    println!(
        "training {} ({} parameters) on {}: {train} train / {valid} valid images, backend {}{devices}, {} epochs",
        config.model.describe(),
        model.num_trainable_params(),
        config.data.describe(),
        config.backend,
        config.epochs
    );
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

    let best = run.keep_best()?;
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
