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
use models::{Network, Trainee};
use std::time::Instant;

use crate::metrics::EpochRow;
use crate::recipe::{Recipe, RunSettings};
use crate::run_dir::{Progress, RunDir};
use crate::watch::{Divergence, DivergenceSlot};
use loaders::Loaders;

/// What a finished (or stopped) run reports.
pub struct Outcome {
    pub best: Option<EpochRow>,
    pub seconds: f64,
    pub run: RunDir,
    /// Why training ended before its last epoch (Ctrl-C, early stopping).
    pub stopped_early: Option<String>,
}

/// Trains `settings` into `run`; with `resume`, continues the run saved there.
pub fn train(
    settings: &RunSettings,
    run: &RunDir,
    resume: bool,
    interrupter: Interrupter,
) -> Result<Outcome> {
    settings.check()?;
    let (recipe, execution) = (&settings.recipe, &settings.execution);
    // A backend that cannot start is refused before anything is written.
    let devices = execution.backend.devices(execution.devices)?;
    // The first device holds the model, the optimizer and validation.
    let device = devices[0].clone();
    // A resumed run is locked before its progress is read; a new one only
    // when it is first written, so a refused start leaves no folder behind.
    let progress = run.open(resume)?;
    if progress.start_epoch >= recipe.epochs {
        println!(
            "{} already finished all {} epochs",
            run.path().display(),
            recipe.epochs
        );
    }
    let (train_set, valid_set) = split_data(recipe)?;
    for device in &devices {
        device.seed(recipe.seed);
    }
    let model = initial_model(recipe, &device.clone().autodiff(), &progress)?;
    let start_epoch = progress.start_epoch;
    let (_lock, earlier_rows) = progress.take(run, settings)?;
    announce(settings, &model, [train_set.len(), valid_set.len()]);

    let loaders = Loaders::new(settings, train_set, valid_set, start_epoch);
    let scheduler = optimizer::scheduler(recipe, loaders.steps_per_epoch())?;
    let diverged = DivergenceSlot::default();
    let training = supervised::training(
        settings,
        run,
        supervised::Start {
            epoch: start_epoch,
            earlier_rows,
        },
        loaders,
        devices,
        &interrupter,
        &diverged,
    );
    let started = Instant::now();
    let (trainee, optim) = optimizer::optimizer(recipe, model);
    let learner = Learner::new(trainee, optim, scheduler);
    let result = training.launch(learner);
    finish(run, result, started, diverged.get())
}

/// The run's data, split into training and validation sets, each image as
/// the network sees it (normalised where the run says so).
fn split_data(recipe: &Recipe) -> Result<(Hanzi12, Hanzi12)> {
    let data = recipe.data.load()?;
    let (train_set, valid_set) = data.split(recipe.valid_ratio);
    if train_set.is_empty() || valid_set.is_empty() {
        bail!(
            "{}: {} images are too few to split into training and validation (--valid-ratio {})",
            recipe.data.describe(),
            data.len(),
            recipe.valid_ratio
        );
    }
    let normalise = recipe.normalise.as_ref();
    Ok((
        train_set.normalised(normalise),
        valid_set.normalised(normalise),
    ))
}

/// The network to start from: random, or with the weights of `--init`
/// (not when resuming: the checkpoint has the weights then).
fn initial_model(recipe: &Recipe, device: &Device, progress: &Progress) -> Result<Network> {
    let model = recipe.model.init(device);
    let Some(from) = recipe.init.as_ref().filter(|_| progress.start_epoch == 0) else {
        return Ok(model);
    };
    let source = RunDir::new(from);
    let model = source
        .load_weights(model, &recipe.model)
        .with_context(|| format!("--init {}", from.display()))?;
    println!("starting from the weights of {}", source.model().display());
    Ok(model)
}

/// What is about to train, on what, in one line.
fn announce(settings: &RunSettings, model: &Network, [train, valid]: [usize; 2]) {
    let (recipe, execution) = (&settings.recipe, &settings.execution);
    let devices = match execution.devices {
        1 => String::new(),
        n => format!(
            " on {n} devices ({} images each of every step's {})",
            recipe.batch_size / n,
            recipe.batch_size
        ),
    };
    println!(
        "training {} ({} parameters) on {}: {train} train / {valid} valid images, backend {}{devices}, {} epochs",
        recipe.model.describe(),
        model.num_trainable_params(),
        recipe.data.describe(),
        execution.backend,
        recipe.epochs
    );
}

/// Keeps the best epoch's model as the run's model, and turns a divergence
/// or an error into one that says what was kept.
fn finish(
    run: &RunDir,
    result: LearningResult<Trainee>,
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
