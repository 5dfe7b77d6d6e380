//! GPU training steps from several threads at once, as Burn's multi-device
//! strategy runs them (one worker thread per device, the model shared), and
//! a training run whose steps hop from thread to thread (as rayon's pool
//! hands them out). Each must give, step for step, the finite losses of the
//! same training on one thread.
//!
//! A training step on the wgpu backend once went NaN when its work came
//! from rayon's pool threads (docs/gpu.md, "Two runtime switches": Burn
//! lost writes handed between threads' streams); this is the test that
//! catches it on purpose: several threads, several rounds, both optimizers.

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::train::{ClassificationOutput, TrainStep};
use dataset::Hanzi12Batch;
use models::{Adam, ModelConfig, ModelOptions, Network, Trainee};

use hanzi12::backend::{self, Backend};

/// Training steps of each run: the third is the first whose loss depends on
/// Adam's state carried over from the step before.
const STEPS: usize = 3;
/// Relative difference allowed between two trainings of the same steps: the
/// same kernels on the same values agree to rounding (a race gives NaN or a
/// different loss at once).
const TOLERANCE: f32 = 1e-4;

/// The device `--backend wgpu` uses, or `None` (said) where there is none.
fn wgpu() -> Option<Device> {
    if backend::choose(&backend::adapters()).is_none() {
        testdata::missing(testdata::NO_WGPU);
        return None;
    }
    Some(
        Backend::Wgpu
            .device()
            .expect("the wgpu adapter starts")
            .autodiff(),
    )
}

/// Batch `step` of training `lane`: fixed sparse binary images and labels,
/// other ones for each lane.
fn batch(lane: usize, step: usize, device: &Device) -> Hanzi12Batch {
    let size = 12;
    let pixels: Vec<f32> = (0..size * 784)
        .map(|i| (i * 7919 + i / 13 + step * 31 + lane * 101).is_multiple_of(9) as u8 as f32)
        .collect();
    let targets: Vec<i64> = (0..size).map(|i| ((i + step + lane) % 12) as i64).collect();
    Hanzi12Batch {
        images: Tensor::from_data(TensorData::new(pixels, [size, 1, 28, 28]), device),
        targets: Tensor::from_data(TensorData::new(targets, [size]), device),
        smoothing: None,
        step_share: 1.0,
    }
}

/// The two optimizers a run may have: the trainer's and Burn's own.
#[derive(Clone, Copy, Debug)]
enum Optimizer {
    Fused,
    Burn,
}

impl Optimizer {
    /// `model` as the Learner trains it with this optimizer, and the
    /// optimizer the Learner keeps.
    fn init(self, model: Network) -> (Trainee, ModuleOptimizer) {
        match self {
            Optimizer::Fused => {
                let adam = Adam::new(1e-8, None);
                let records = adam.record_keeper(&model);
                (Trainee::new(model, Some(adam)), records)
            }
            Optimizer::Burn => (
                Trainee::new(model, None),
                AdamConfig::new().with_epsilon(1e-8).init(),
            ),
        }
    }
}

/// Where each step runs: here, or on a new thread of its own (so that no
/// two consecutive steps, nor a step and its optimizer update, share one).
#[derive(Clone, Copy, Debug)]
enum Hop {
    Stay,
    EveryStep,
}

impl Hop {
    fn run<R: Send>(self, work: impl FnOnce() -> R + Send) -> R {
        match self {
            Hop::Stay => work(),
            Hop::EveryStep => std::thread::scope(|s| s.spawn(work).join().expect("a step")),
        }
    }
}

/// `STEPS` training steps of `lane` from `model`: the loss of each, read
/// on the thread that called.
fn train(model: Network, lane: usize, optimizer: Optimizer, hop: Hop, device: &Device) -> Vec<f32> {
    let (mut trainee, mut optim) = optimizer.init(model);
    let mut losses = Vec::new();
    for step in 0..STEPS {
        let output = hop.run(|| TrainStep::step(&trainee, batch(lane, step, device)));
        let ClassificationOutput { loss, .. } = output.item;
        losses.push(loss.into_scalar::<f32>());
        let grads = output.grads;
        trainee = hop.run(|| TrainStep::optimize(trainee, &mut optim, 1e-3.into(), grads));
    }
    losses
}

fn assert_same(what: &str, losses: &[f32], expected: &[f32]) {
    let same = losses.len() == expected.len()
        && losses
            .iter()
            .zip(expected)
            .all(|(a, b)| a.is_finite() && (a - b).abs() <= TOLERANCE * b.abs().max(1.0));
    assert!(
        same,
        "{what}: losses {losses:?}, on one thread {expected:?}"
    );
}

/// `name` trained on `threads` threads at once, each its own lane from the
/// same weights, `rounds` times (a race shows in some rounds only); and one
/// lane with every step on another thread: all as on one thread.
fn trains_alike_on_any_thread(
    name: &str,
    optimizer: Optimizer,
    [threads, rounds]: [usize; 2],
    device: &Device,
) {
    let config = ModelConfig::from_name(name, &ModelOptions::default()).unwrap();
    let start = testdata::seeded_module(device, 12, || config.init(device));
    let expected: Vec<Vec<f32>> = (0..threads)
        .map(|lane| train(start.clone(), lane, optimizer, Hop::Stay, device))
        .collect();
    for round in 0..rounds {
        let losses: Vec<Vec<f32>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|lane| {
                    let start = start.clone();
                    s.spawn(move || train(start, lane, optimizer, Hop::Stay, device))
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("a worker"))
                .collect()
        });
        for (lane, (losses, expected)) in losses.iter().zip(&expected).enumerate() {
            let what = format!("{name} ({optimizer:?}), round {round}, thread {lane} of {threads}");
            assert_same(&what, losses, expected);
        }
    }
    let hopping = train(start.clone(), 0, optimizer, Hop::EveryStep, device);
    assert_same(
        &format!("{name} ({optimizer:?}), a thread per step"),
        &hopping,
        &expected[0],
    );
}

#[test]
fn gpu_training_steps_from_several_threads_match_one_thread() {
    let Some(device) = wgpu() else { return };
    for optimizer in [Optimizer::Fused, Optimizer::Burn] {
        trains_alike_on_any_thread("mlp", optimizer, [3, 3], &device);
    }
    // The project's own GPU kernels (BatchNorm, the residual join): two
    // threads, one round, as its steps take seconds on a software adapter.
    trains_alike_on_any_thread("cnn_res", Optimizer::Fused, [2, 1], &device);
}
