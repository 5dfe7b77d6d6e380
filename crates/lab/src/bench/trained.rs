//! `bench --trained RUN`: training speed where a run spends most of its
//! steps: from the weights and Adam state of a run's last saved epoch, on
//! real batches, beside the same steps from fresh weights; each with
//! subnormal floats computed as IEEE says and flushed to zero
//! (`kernels::subnormal`). The four are timed in rounds, in turn, so a
//! machine that gets busier slows all of them alike.

use anyhow::{Result, bail};
use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Gradients;
use dataset::{Hanzi12, Hanzi12Batch, Hanzi12Batcher};
use models::{Adam, Network};
use std::path::Path;
use std::time::Instant;

use hanzi12::run_dir::{CheckpointKind, RunDir};
use hanzi12::{Backend, Recipe};

/// Learning rate of the timed steps: where a cosine schedule spends its
/// last epochs; small enough that the weights stay where training left them.
const LATE_LR: f64 = 1e-4;

/// Images per second of each way of running the same steps.
#[derive(Debug, serde::Serialize)]
pub struct StretchFigures {
    pub model: String,
    pub run: String,
    pub batch: usize,
    pub fresh_img_per_s: f64,
    pub fresh_flushed_img_per_s: f64,
    pub trained_img_per_s: f64,
    pub trained_flushed_img_per_s: f64,
    /// Epoch whose checkpoint was loaded.
    pub epoch: usize,
    /// Share of the trained network's parameter gradients that are
    /// subnormal (IEEE mode), over one step.
    pub trained_subnormal_gradients: f64,
    /// Share of the values of Adam's two moments, as saved, that are
    /// subnormal: what each step multiplies (by beta) and divides.
    pub trained_subnormal_moments: f64,
}

impl StretchFigures {
    /// The figures in one line of text.
    pub fn line(&self, backend: Backend) -> String {
        format!(
            "{} on {backend}: train img/s at batch {}: fresh weights {:.0} (subnormals flushed: {:.0}), weights and Adam state of epoch {} {:.0} (flushed: {:.0}); subnormal: {:.3} % of its gradients, {:.3} % of Adam's moments",
            self.model,
            self.batch,
            self.fresh_img_per_s,
            self.fresh_flushed_img_per_s,
            self.epoch,
            self.trained_img_per_s,
            self.trained_flushed_img_per_s,
            100.0 * self.trained_subnormal_gradients,
            100.0 * self.trained_subnormal_moments
        )
    }
}

/// A network with its optimizer, stepping through the same batches.
struct Learner {
    model: Option<Network>,
    adam: Adam,
    flush: bool,
}

impl Learner {
    fn step(&mut self, batch: &Hanzi12Batch) {
        let model = self.model.take().expect("a model between steps");
        let loss = model.classify(batch.clone()).loss;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.adam.step(&LATE_LR.into(), model, grads));
    }

    /// Seconds for `batches.len()` steps, in this learner's float mode.
    fn time(&mut self, batches: &[Hanzi12Batch]) -> f64 {
        kernels::subnormal::flush_subnormals(self.flush);
        let started = Instant::now();
        for batch in batches {
            self.step(batch);
        }
        wait_for(self.model.as_ref().expect("a model"));
        started.elapsed().as_secs_f64()
    }
}

/// Reads one value back, which waits for queued work on any backend.
fn wait_for(model: &Network) {
    let device = model.devices()[0].clone();
    let probe = Tensor::<4>::zeros([1, 1, dataset::SIDE, dataset::SIDE], &device);
    let _ = model.forward(probe).into_data();
}

/// Counts the subnormal values among the gradients of a module's parameters.
struct SubnormalCount<'a> {
    grads: &'a Gradients,
    subnormal: usize,
    total: usize,
}

impl ModuleVisitor for SubnormalCount<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = param.val().grad(self.grads) else {
            return;
        };
        let values = grad.into_data().try_to_vec::<f32>().unwrap_or_default();
        self.total += values.len();
        self.subnormal += values.iter().filter(|v| v.is_subnormal()).count();
    }
}

/// Share of subnormal values among the parameter gradients of one step.
fn subnormal_share(model: &Network, batch: &Hanzi12Batch) -> f64 {
    kernels::subnormal::flush_subnormals(false);
    let loss = model.classify(batch.clone()).loss;
    let grads = loss.backward();
    let mut count = SubnormalCount {
        grads: &grads,
        subnormal: 0,
        total: 0,
    };
    model.visit(&mut count);
    count.subnormal as f64 / count.total.max(1) as f64
}

/// Times `steps` training steps per turn, `rounds` turns of each of the four.
pub fn trained_stretch(
    run_dir: &Path,
    backend: Backend,
    data: &Hanzi12,
    batch: usize,
    steps: usize,
    rounds: usize,
) -> Result<StretchFigures> {
    let flushing_before = kernels::subnormal::on_this_thread();
    let run = RunDir::new(run_dir.to_path_buf());
    let config = run.settings()?.recipe;
    let device = backend.device()?.autodiff();
    let batcher = Hanzi12Batcher::new(config.convention);
    let batches = spread_batches(data, &batcher, batch, steps, &device);
    let (trained, epoch) = last_saved_model(&run, &config, &device)?;
    let trained_subnormal_gradients = subnormal_share(&trained, &batches[0]);
    let optimizer_state = run.checkpoint(CheckpointKind::Optimizer, epoch);
    let saved_adam = || saved_optimizer(&optimizer_state, &trained);
    let trained_subnormal_moments = subnormal_moments(&saved_adam()?);
    let fresh = |flush| Learner {
        model: Some(config.model.init(&device)),
        adam: Adam::new(1e-8, None),
        flush,
    };
    let resumed = |flush| -> Result<Learner> {
        Ok(Learner {
            model: Some(trained.clone()),
            adam: saved_adam()?,
            flush,
        })
    };
    let mut learners = [fresh(false), fresh(true), resumed(false)?, resumed(true)?];
    let seconds = interleaved_seconds(&mut learners, &batches, rounds);
    kernels::subnormal::flush_subnormals(flushing_before);
    let img_per_s = |s: f64| (rounds * steps * batch) as f64 / s;
    Ok(StretchFigures {
        model: config.model.name().to_string(),
        run: run_dir.display().to_string(),
        batch,
        fresh_img_per_s: img_per_s(seconds[0]),
        fresh_flushed_img_per_s: img_per_s(seconds[1]),
        trained_img_per_s: img_per_s(seconds[2]),
        trained_flushed_img_per_s: img_per_s(seconds[3]),
        epoch,
        trained_subnormal_gradients,
        trained_subnormal_moments,
    })
}

/// The run's model as its last complete epoch saved it, and that epoch.
fn last_saved_model(run: &RunDir, config: &Recipe, device: &Device) -> Result<(Network, usize)> {
    let Some(epoch) = run.last_complete_epoch() else {
        bail!(
            "--trained {}: no complete epoch saved in this run folder",
            run.path().display()
        );
    };
    let model = config
        .model
        .init(device)
        .try_load_file(run.checkpoint(CheckpointKind::Model, epoch))
        .map_err(|e| anyhow::anyhow!("{}: {e}", run.path().display()))?;
    Ok((model, epoch))
}

/// The trainer's Adam with the moments saved in `state` for `model`.
fn saved_optimizer(state: &Path, model: &Network) -> Result<Adam> {
    let adam = Adam::new(1e-8, None);
    adam.record_keeper(model)
        .load(state)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", state.display()))?;
    Ok(adam)
}

/// Share of the values of `adam`'s moments that are subnormal.
fn subnormal_moments(adam: &Adam) -> f64 {
    let values = adam.moment_values();
    let total: usize = values.iter().map(Vec::len).sum();
    let subnormal: usize = values
        .iter()
        .map(|v| v.iter().filter(|x| x.is_subnormal()).count())
        .sum();
    subnormal as f64 / total.max(1) as f64
}

/// `steps` batches of `batch` images spread over the whole set (a stride
/// prime to its size), the same for every learner.
fn spread_batches(
    data: &Hanzi12,
    batcher: &Hanzi12Batcher,
    batch: usize,
    steps: usize,
    device: &Device,
) -> Vec<Hanzi12Batch> {
    let items = data.items();
    (0..steps)
        .map(|i| {
            let chunk: Vec<_> = (0..batch)
                .map(|j| items[(i * batch + j) * 7919 % items.len()].clone())
                .collect();
            burn::data::dataloader::batcher::Batcher::batch(batcher, chunk, device)
        })
        .collect()
}

/// Seconds each learner spent on `rounds` passes over `batches`, after one
/// warm-up step each; the learners take turns in a rotating order, so a
/// slow moment of a shared machine falls on all of them alike.
fn interleaved_seconds<const N: usize>(
    learners: &mut [Learner; N],
    batches: &[Hanzi12Batch],
    rounds: usize,
) -> [f64; N] {
    for learner in learners.iter_mut() {
        learner.time(&batches[..1]); // warm-up: first allocations, Adam's state
    }
    let mut seconds = [0.0f64; N];
    for round in 0..rounds {
        for k in 0..N {
            let which = (k + round) % N;
            seconds[which] += learners[which].time(batches);
        }
    }
    seconds
}
