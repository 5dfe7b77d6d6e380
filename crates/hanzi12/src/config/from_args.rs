//! The run a command line describes.

use anyhow::{Result, ensure};
use dataset::AugmentConfig;

use super::{TrainConfig, default_epochs};
use crate::args::TrainArgs;
use crate::data::{DataSource, SYNTH_TRAIN_PER_CLASS};

impl TryFrom<&TrainArgs> for TrainConfig {
    type Error = anyhow::Error;

    /// The run the flags describe, checked.
    fn try_from(args: &TrainArgs) -> Result<TrainConfig> {
        let config = described(args, args.data_source()?)?;
        config.check()?;
        Ok(config)
    }
}

impl TrainArgs {
    /// The data the flags name: the folder of `--data` (else `data/train`),
    /// or the first `--per-class` files of each of its classes; without a
    /// folder, `--per-class` synthetic images per class drawn with
    /// `--data-seed` (else `--seed`).
    pub fn data_source(&self) -> Result<DataSource> {
        ensure!(
            self.per_class != Some(0),
            "--per-class 0: expected at least 1 image per class"
        );
        let seed = self.data_seed.unwrap_or(self.seed);
        let synthetic = self.per_class.unwrap_or(SYNTH_TRAIN_PER_CLASS);
        let mut data = self.data.source(seed, synthetic);
        if let DataSource::Folder { per_class, .. } = &mut data {
            *per_class = self.per_class;
        }
        Ok(data)
    }
}

/// The run the flags describe, on `data`, not yet checked as a whole: a
/// resumed run checks what it becomes, its saved settings with the flags it
/// honours (`--devices 3` with a saved `--batch-size 96` is not refused for
/// the default 64).
pub(super) fn described(args: &TrainArgs, data: DataSource) -> Result<TrainConfig> {
    let model = args.model.config()?;
    let epochs = args.epochs.unwrap_or_else(|| default_epochs(&model, &data));
    let config = TrainConfig {
        model,
        data,
        backend: args.backend.backend,
        devices: args.devices,
        epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer: args.optimizer,
        momentum: args.momentum,
        weight_decay: args.weight_decay,
        schedule: args.schedule,
        augment: AugmentConfig::new().with_scheme(args.augment),
        convention: args.convention.convention(),
        normalise: args.normalise.config(),
        // 0 is the same as no smoothing, and saved as such.
        label_smoothing: args.label_smoothing.filter(|&alpha| alpha != 0.0),
        valid_ratio: args.valid_ratio,
        seed: args.seed,
        workers: args.workers,
        patience: args.patience,
        init: args.init.clone(),
    };
    Ok(config)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The flags of a command line, as `trainer` parses them.
    pub(crate) fn train_args(argv: &[&str]) -> TrainArgs {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            train: TrainArgs,
        }
        let argv = ["trainer"].iter().chain(argv);
        <Flags as clap::Parser>::try_parse_from(argv).unwrap().train
    }

    #[test]
    fn label_smoothing_zero_is_off() {
        let smoothing = |argv: &[&str]| {
            described(
                &train_args(argv),
                DataSource::Synthetic {
                    per_class: 1,
                    seed: 1,
                },
            )
            .unwrap()
            .label_smoothing
        };
        assert_eq!(smoothing(&[]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0"]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0.1"]), Some(0.1));
    }

    #[test]
    fn per_class_and_data_seed_name_the_data() {
        let data = |argv: &[&str]| train_args(argv).data_source();
        assert_eq!(
            data(&["--data", "d", "--per-class", "24"]).unwrap(),
            DataSource::Folder {
                path: "d".into(),
                per_class: Some(24)
            }
        );
        assert_eq!(
            data(&["--data", "d"]).unwrap(),
            DataSource::Folder {
                path: "d".into(),
                per_class: None
            }
        );
        let error = data(&["--data", "d", "--per-class", "0"]).unwrap_err();
        assert!(error.to_string().starts_with("--per-class 0: "), "{error}");
    }

    #[test]
    fn devices_take_equal_shares_of_the_batch() {
        let config = |argv: &[&str]| TrainConfig::try_from(&train_args(argv));
        assert_eq!(config(&["--devices", "2"]).unwrap().devices, 2);
        assert_eq!(config(&[]).unwrap().devices, 1);
        let four = config(&["--devices", "4", "--batch-size", "32"]).unwrap();
        assert_eq!((four.devices, four.batch_size), (4, 32));
        let error = |argv: &[&str]| config(argv).unwrap_err().to_string();
        assert_eq!(
            error(&["--devices", "0"]),
            "--devices 0: expected at least 1"
        );
        assert!(
            error(&["--devices", "3"]).starts_with(
                "--devices 3: --batch-size 64 does not split evenly across 3 devices (expected a multiple of 3"
            ),
            "{}",
            error(&["--devices", "3"])
        );
    }
}
