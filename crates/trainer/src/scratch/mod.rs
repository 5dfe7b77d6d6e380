//! `trainer scratch`: train with the hand-written backpropagation of the
//! `backprop` crate (no Burn autodiff): the report's sine fit, the BP network
//! (MLP) and the small CNN on Hanzi12. Each task has a config whose
//! `Default` is the report's setting; the command line and the studies
//! start from it.

mod hanzi;
mod sine;

pub use hanzi::{HanziConfig, HanziNet};
pub use sine::{SineConfig, SineFit, fit_sine};

use anyhow::{Result, ensure};
use backprop::Activation;
use backprop::ndarray::{Array2, Axis};

/// What `trainer scratch` trains.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScratchTask {
    /// MLP [1, 16, 32, 1] fitting sin x on [-π, π] with MSE (the report's check).
    Sine,
    /// The BP network on Hanzi12: [784, 256, 12], LeakyReLU, softmax + cross-entropy.
    Mlp,
    /// The small CNN on Hanzi12: conv 8 → max-pool → conv 16 (stride 2) → dense 12.
    Cnn,
}

impl ScratchTask {
    const EACH: [ScratchTask; 3] = [ScratchTask::Sine, ScratchTask::Mlp, ScratchTask::Cnn];

    fn name(self) -> &'static str {
        match self {
            ScratchTask::Sine => "sine",
            ScratchTask::Mlp => "mlp",
            ScratchTask::Cnn => "cnn",
        }
    }

    /// How the task trains by default.
    pub fn training(self) -> Training {
        match self {
            ScratchTask::Sine => SineConfig::default().training,
            ScratchTask::Mlp => HanziConfig::mlp().training,
            ScratchTask::Cnn => HanziConfig::cnn().training,
        }
    }
}

/// How a task trains: plain mini-batch SGD of a network with this hidden
/// activation, from this seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Training {
    pub epochs: usize,
    pub lr: f64,
    pub momentum: f64,
    pub batch_size: usize,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// Seed for weights, shuffling, dropout and the sine samples.
    pub seed: u64,
}

impl Training {
    fn check(&self) -> Result<()> {
        ensure!(self.epochs > 0, "--epochs must be at least 1");
        ensure!(self.batch_size > 0, "--batch-size must be positive");
        Ok(())
    }
}

/// A setting's default per task, for the help text: "sine 800, mlp 30, cnn 20".
pub fn defaults_per_task(setting: impl Fn(&Training) -> String) -> String {
    ScratchTask::EACH
        .iter()
        .map(|task| format!("{} {}", task.name(), setting(&task.training())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One task, with its settings.
#[derive(Clone, Debug)]
pub enum Scratch {
    Sine(SineConfig),
    Hanzi(HanziConfig),
}

/// Runs the task (in f64 instead of f32 with `f64`) and prints per-epoch
/// progress and a final line.
pub fn run(scratch: &Scratch, f64: bool) -> Result<()> {
    match (scratch, f64) {
        (Scratch::Sine(config), false) => sine::run::<f32>(config),
        (Scratch::Sine(config), true) => sine::run::<f64>(config),
        (Scratch::Hanzi(config), false) => hanzi::run::<f32>(config, "f32"),
        (Scratch::Hanzi(config), true) => hanzi::run::<f64>(config, "f64"),
    }
}

/// Refuses a dropout probability outside [0, 1).
fn check_dropout(dropout: f64) -> Result<()> {
    ensure!(
        (0.0..1.0).contains(&dropout),
        "--dropout must be in [0, 1), got {dropout}"
    );
    Ok(())
}

/// A shuffled order of `0..n` per epoch, cut into mini-batches. Like the
/// report, the last batch is filled up from the end of the order instead of
/// being short.
fn batches(n: usize, batch: usize, rng: &mut rand::rngs::StdRng) -> Vec<Vec<usize>> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let batch = batch.min(n);
    (0..n)
        .step_by(batch)
        .map(|start| {
            if start + batch > n {
                order[n - batch..].to_vec()
            } else {
                order[start..start + batch].to_vec()
            }
        })
        .collect()
}

/// Rows `indices` of `x`.
fn gather<F: backprop::Float>(x: &Array2<F>, indices: &[usize]) -> Array2<F> {
    x.select(Axis(0), indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use backprop::init::rng;

    #[test]
    fn batches_cover_everything_with_full_batches() {
        let b = batches(10, 4, &mut rng(1));
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|b| b.len() == 4));
        let mut seen: Vec<usize> = b.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(batches(3, 8, &mut rng(1)).concat().len(), 3);
    }

    #[test]
    fn help_names_each_tasks_default() {
        assert_eq!(
            defaults_per_task(|s| s.epochs.to_string()),
            "sine 800, mlp 30, cnn 20"
        );
    }

    #[test]
    fn short_sine_run() {
        // A smoke run; the full 800 epochs is `trainer scratch --task sine`.
        let config = SineConfig {
            training: Training {
                epochs: 5,
                ..ScratchTask::Sine.training()
            },
            points: 200,
            ..SineConfig::default()
        };
        run(&Scratch::Sine(config), false).unwrap();
    }
}
