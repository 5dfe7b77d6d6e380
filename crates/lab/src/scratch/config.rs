//! What a `scratch` task trains and how: each task's defaults (the
//! report's settings), and the flags that change them.

use anyhow::{Result, bail, ensure};
use backprop::Activation;
use hanzi12::data::SYNTH_PER_CLASS;

use super::{HanziConfig, HanziNet, SineConfig};
use crate::args::ScratchArgs;

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
    pub fn check(&self) -> Result<()> {
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

impl TryFrom<&ScratchArgs> for Scratch {
    type Error = anyhow::Error;

    /// The task's config: its defaults, with what the flags change.
    fn try_from(args: &ScratchArgs) -> Result<Scratch> {
        let mut training = args.task.training();
        training.epochs = args.epochs.unwrap_or(training.epochs);
        training.lr = args.lr.unwrap_or(training.lr);
        training.momentum = args.momentum.unwrap_or(training.momentum);
        training.batch_size = args.batch_size.unwrap_or(training.batch_size);
        training.activation = args.activation.unwrap_or(training.activation);
        training.seed = args.seed;
        let mut hanzi = match args.task {
            ScratchTask::Sine => {
                let defaults = SineConfig::default();
                return Ok(Scratch::Sine(SineConfig {
                    training,
                    layers: args.layers.clone().unwrap_or(defaults.layers),
                    dropout: args.dropout,
                    points: args.sine_points,
                }));
            }
            ScratchTask::Mlp => {
                let mut config = HanziConfig::mlp();
                if let HanziNet::Mlp { layers, dropout } = &mut config.net {
                    *layers = args.layers.clone().unwrap_or(layers.clone());
                    *dropout = args.dropout;
                }
                config
            }
            ScratchTask::Cnn => {
                if args.layers.is_some() {
                    bail!("--layers is for the MLP tasks");
                }
                if args.dropout != 0.0 {
                    bail!("--dropout is for the MLP tasks");
                }
                HanziConfig::cnn()
            }
        };
        hanzi.data = args.data.source(args.seed, SYNTH_PER_CLASS);
        hanzi.training = training;
        hanzi.valid_ratio = args.valid_ratio;
        hanzi.shift = args.shift;
        hanzi.cosine = args.cosine;
        Ok(Scratch::Hanzi(hanzi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(argv: &[&str]) -> Result<Scratch> {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            scratch: ScratchArgs,
        }
        let argv = ["trainer"].iter().chain(argv);
        Scratch::try_from(
            &<Flags as clap::Parser>::try_parse_from(argv)
                .unwrap()
                .scratch,
        )
    }

    #[test]
    fn scratch_flags_change_the_tasks_defaults() {
        let Scratch::Hanzi(cnn) = scratch(&[]).unwrap() else {
            panic!("cnn is the default task");
        };
        assert_eq!(cnn.training, HanziConfig::cnn().training);
        let argv = [
            "--task",
            "mlp",
            "--layers",
            "784,128,12",
            "--activation",
            "sigmoid",
            "--lr",
            "0.1",
            "--cosine",
            "false",
            "--shift",
            "0",
        ];
        let Scratch::Hanzi(mlp) = scratch(&argv).unwrap() else {
            panic!("an mlp task");
        };
        assert_eq!(
            mlp.net,
            HanziNet::Mlp {
                layers: vec![784, 128, 12],
                dropout: 0.0
            }
        );
        assert_eq!(mlp.training.activation, Activation::Sigmoid);
        assert_eq!((mlp.training.lr, mlp.cosine, mlp.shift), (0.1, false, 0));
        assert_eq!(mlp.training.epochs, HanziConfig::mlp().training.epochs);
        let Scratch::Sine(sine) = scratch(&["--task", "sine"]).unwrap() else {
            panic!("a sine task");
        };
        assert_eq!(sine, SineConfig::default());
        assert!(scratch(&["--layers", "784,12"]).is_err());
    }
}
