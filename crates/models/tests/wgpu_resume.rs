//! Resuming from the optimizer state recorded in the middle of a GPU run:
//! the resumed steps must be the steps the run itself took next.
//!
//! Burn 0.22.1's kernel fusion once recorded other tensors' values for the
//! Adam moments of a `--backend wgpu` checkpoint, so a resumed run trained
//! to a NaN loss; this is that checkpoint taken in-process, with the
//! training steps on rayon's pool and the record read on the caller's
//! thread, as Burn's `Learner` does. Where there is no wgpu adapter, the
//! wgpu test says so in one line and stops (under CI it fails:
//! `testdata::missing`).

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::train::{ClassificationOutput, TrainStep};
use dataset::Hanzi12Batch;
use models::{ModelConfig, ModelOptions, Network};

/// A fixed batch of sparse binary images and labels, one per step.
fn batch(step: usize, size: usize, device: &Device) -> Hanzi12Batch {
    let pixels: Vec<f32> = (0..size * 784)
        .map(|i| (i * 7919 + i / 13 + step * 31).is_multiple_of(9) as u8 as f32)
        .collect();
    let targets: Vec<i64> = (0..size).map(|i| ((i + step) % 12) as i64).collect();
    Hanzi12Batch {
        images: Tensor::from_data(TensorData::new(pixels, [size, 1, 28, 28]), device),
        targets: Tensor::from_data(TensorData::new(targets, [size]), device),
        smoothing: None,
        step_share: 1.0,
    }
}

/// Where each training step runs: on the caller's thread (as the
/// `Learner` now runs GPU steps), or handed to rayon's pool, whichever of
/// its threads is free (as it ran every step before). On the pool, under
/// load, consecutive steps land on different threads: where Burn lost
/// writes handed between threads' streams, this test's run trained to NaN
/// (docs/gpu.md, "One stream per device").
#[derive(Clone, Copy, Debug)]
enum Threads {
    Caller,
    Pool,
}

impl Threads {
    fn run<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        match self {
            Threads::Caller => work(),
            Threads::Pool => kernels::on_pool_thread(work),
        }
    }
}

/// Training steps `steps`, as the `Learner` runs them; the loss of each.
fn train(
    mut model: Network,
    optim: &mut ModuleOptimizer,
    steps: std::ops::Range<usize>,
    (device, threads): (&Device, Threads),
) -> (Network, Vec<f32>) {
    let mut losses = Vec::new();
    for step in steps {
        let output = threads.run(|| TrainStep::step(&model, batch(step, 12, device)));
        let ClassificationOutput { loss, .. } = output.item;
        losses.push(loss.into_scalar::<f32>());
        let grads = output.grads;
        model = threads.run(|| TrainStep::optimize(model, optim, 1e-3.into(), grads));
    }
    (model, losses)
}

fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// `name` trains 3 steps; its optimizer state is recorded; it trains 3
/// more. A fresh optimizer loaded from the record, from the weights of
/// step 3, must take the same 3 steps.
fn resumes_where_it_stopped(name: &str, run: (&Device, Threads)) {
    let config = ModelConfig::from_name(name, &ModelOptions::default()).unwrap();
    let mut optim = adam();
    // The initial weights from a fixed seed: the two tests run in parallel,
    // and each backend has one random generator per process.
    let initial = testdata::seeded_module(run.0, 7, || config.init(run.0));
    let (model, _) = train(initial, &mut optim, 0..3, run);
    let record = optim.to_record();
    let (_, expected) = train(model.clone(), &mut optim, 3..6, run);
    let mut resumed = adam().load_record(record);
    let (_, losses) = train(model, &mut resumed, 3..6, run);
    for (step, (a, b)) in losses.iter().zip(&expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1.0),
            "{name} ({:?}): resumed step {} loss {a}, the run's own {b} (all: {losses:?} vs {expected:?})",
            run.1,
            step + 3
        );
    }
}

#[test]
fn a_run_resumed_from_its_recorded_adam_state_takes_the_same_steps() {
    let device = match kernels::wgpu_device() {
        Ok(device) => device.autodiff(),
        Err(reason) => return testdata::missing(&format!("{}: {reason}", testdata::NO_WGPU)),
    };
    for threads in [Threads::Caller, Threads::Pool] {
        for name in ["cnn_res", "mlp"] {
            resumes_where_it_stopped(name, (&device, threads));
        }
    }
}

#[test]
fn the_record_reads_the_same_on_a_flex_run() {
    resumes_where_it_stopped("cnn_res", (&Device::flex().autodiff(), Threads::Pool));
}
