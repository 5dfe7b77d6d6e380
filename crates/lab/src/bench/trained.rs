//! `bench --trained RUN`: training speed where a run spends most of its
//! steps: from the weights and Adam state of a run's last saved epoch, on
//! real batches, beside the same steps from fresh weights; each with
//! subnormal floats computed as IEEE says and flushed to zero
//! (`kernels::subnormal`). The four are timed in rounds, in turn, so a
//! machine that gets busier slows all of them alike.

use anyhow::{Result, bail};
use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamState, GradientsParams, LearningRate, ModuleOptimizer, Optimizer};
use burn::prelude::*;
use burn::tensor::Gradients;
use dataset::{Hanzi12, Hanzi12Batch, Hanzi12Batcher};
use models::Network;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hanzi12::optim::FusedAdam;
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
    optim: ModuleOptimizer,
    flush: bool,
}

impl Learner {
    fn step(&mut self, batch: &Hanzi12Batch) {
        let model = self.model.take().expect("a model between steps");
        let loss = model.classify(batch.clone()).loss;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optim.step(LATE_LR, model, grads));
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
    let counted = Arc::new(MomentCount::default());
    let trained_optim = |counted| saved_optimizer(&optimizer_state, counted);
    // One step with counting on reads every saved moment once.
    let mut counting = Learner {
        model: Some(trained.clone()),
        optim: trained_optim(Some(counted.clone()))?,
        flush: false,
    };
    counting.step(&batches[0]);
    let fresh = |flush| Learner {
        model: Some(config.model.init(&device)),
        optim: FusedAdam::new(1e-8, None).init(),
        flush,
    };
    let resumed = |flush| -> Result<Learner> {
        Ok(Learner {
            model: Some(trained.clone()),
            optim: trained_optim(None)?,
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
        trained_subnormal_moments: counted.share(),
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

/// The fused Adam with the moments saved in `state` (counted as they are
/// read where `counted` is given).
fn saved_optimizer(state: &Path, counted: Option<Arc<MomentCount>>) -> Result<ModuleOptimizer> {
    let adam = CountingAdam {
        adam: FusedAdam::new(1e-8, None),
        counted,
    };
    ModuleOptimizer::from(adam)
        .load(state)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", state.display()))
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

/// Subnormal values seen in Adam's moments.
#[derive(Default)]
struct MomentCount {
    subnormal: AtomicUsize,
    total: AtomicUsize,
}

impl MomentCount {
    fn add(&self, values: &[f32]) {
        let subnormal = values.iter().filter(|v| v.is_subnormal()).count();
        self.subnormal.fetch_add(subnormal, Ordering::Relaxed);
        self.total.fetch_add(values.len(), Ordering::Relaxed);
    }

    fn share(&self) -> f64 {
        let total = self.total.load(Ordering::Relaxed).max(1);
        self.subnormal.load(Ordering::Relaxed) as f64 / total as f64
    }
}

/// The trainer's Adam, counting the subnormal values of the moments it is
/// handed when asked to.
#[derive(Clone)]
struct CountingAdam {
    adam: FusedAdam,
    counted: Option<Arc<MomentCount>>,
}

impl Optimizer for CountingAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if let (Some(counted), Some(state)) = (&self.counted, &state) {
            for moment in [&state.momentum.moment_1, &state.momentum.moment_2] {
                let values = moment.clone().into_data().try_to_vec::<f32>();
                counted.add(&values.unwrap_or_default());
            }
        }
        self.adam.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        FusedAdam::to_device(state, device)
    }
}
