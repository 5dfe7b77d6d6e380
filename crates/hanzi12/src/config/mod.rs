//! A run's settings: every choice `train` makes, saved as `config.json` in
//! the run folder so that the run can be repeated, resumed or loaded.

use anyhow::{Result, bail};
use burn::config::Config;
use dataset::{AugmentConfig, NormaliseConfig, PixelConvention};
use models::ModelConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::backend::Backend;
use crate::data::{DataSource, SYNTH_PER_CLASS};

mod from_args;
mod resume;

/// Defaults of a run, shared by `TrainConfig` and the command line.
pub const DEFAULT_EPOCHS: usize = 10;
/// An MLP epoch is cheap, and the MLP is still improving after 10 epochs
/// (docs/accuracy.md).
pub const DEFAULT_MLP_EPOCHS: usize = 30;
pub const DEFAULT_BATCH_SIZE: usize = 64;
pub const DEFAULT_LR: f64 = 1e-3;
pub const DEFAULT_SEED: u64 = 42;
/// One loader thread keeps the batch order, and so the run, reproducible;
/// loading is a small fraction of a training step (see `bench`).
pub const DEFAULT_WORKERS: usize = 1;

/// Epochs of a run when `--epochs` is not given: on synthetic data larger
/// than the course set, fewer, so that a run takes as many steps as on the
/// course set's 620 images per class.
pub fn default_epochs(model: &ModelConfig, data: &DataSource) -> usize {
    let epochs = match model {
        ModelConfig::Mlp(_) => DEFAULT_MLP_EPOCHS,
        _ => DEFAULT_EPOCHS,
    };
    match data {
        DataSource::Synthetic { per_class, .. } if *per_class > SYNTH_PER_CLASS => {
            (epochs * SYNTH_PER_CLASS).div_ceil(*per_class)
        }
        _ => epochs,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    #[default]
    Adam,
    Sgd,
}

/// How the learning rate moves over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine decay from `lr` to zero over all steps of the run.
    #[default]
    Cosine,
    Constant,
}

/// Every setting of a run: saved as `config.json` in the run folder, enough
/// to rebuild the model and to repeat or resume the run.
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub data: DataSource,
    #[config(default = "Backend::Flex")]
    pub backend: Backend,
    /// Devices of `backend` that train together, each on an equal share of
    /// every step's batch (Burn's multi-device strategy); 1 (and runs saved
    /// before this existed): one device.
    #[config(default = 1)]
    pub devices: usize,
    #[config(default = "DEFAULT_EPOCHS")]
    pub epochs: usize,
    #[config(default = "DEFAULT_BATCH_SIZE")]
    pub batch_size: usize,
    #[config(default = "DEFAULT_LR")]
    pub lr: f64,
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// SGD momentum (0 for plain SGD).
    #[config(default = 0.9)]
    pub momentum: f64,
    #[config(default = 0.0)]
    pub weight_decay: f64,
    #[config(default = "Schedule::Cosine")]
    pub schedule: Schedule,
    #[config(default = "AugmentConfig::new()")]
    pub augment: AugmentConfig,
    #[config(default = "PixelConvention::Ink")]
    pub convention: PixelConvention,
    /// How every image's ink is cropped, scaled and centred before the
    /// network sees it, in training, validation, `predict`, `eval` and
    /// `serve` alike; `None` (and runs saved before this existed): the
    /// course's raw 28x28 boxes.
    #[config(default = "None")]
    pub normalise: Option<NormaliseConfig>,
    /// Label smoothing α of the training loss (validation is not smoothed).
    #[config(default = "None")]
    pub label_smoothing: Option<f32>,
    #[config(default = "dataset::DEFAULT_VALID_RATIO")]
    pub valid_ratio: f64,
    #[config(default = "DEFAULT_SEED")]
    pub seed: u64,
    #[config(default = "DEFAULT_WORKERS")]
    pub workers: usize,
    /// Stop when validation loss has not improved for this many epochs (0: never).
    #[config(default = 0)]
    pub patience: usize,
    /// Start from the weights of this run folder (fine-tuning) instead of a
    /// random initialisation; the networks must be the same.
    #[config(default = "None")]
    pub init: Option<PathBuf>,
}

impl TrainConfig {
    /// A run's saved `config.json`. Burn's `Config` derive gives no field a
    /// serde default, so settings added since a run was saved are filled in
    /// here with what that run did: one device.
    pub fn from_saved(text: &str) -> serde_json::Result<TrainConfig> {
        let mut saved: serde_json::Value = serde_json::from_str(text)?;
        if let Some(fields) = saved.as_object_mut() {
            fields.entry("devices").or_insert(1.into());
        }
        serde_json::from_value(saved)
    }

    /// Refuses settings that cannot train, naming the flag.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            bail!("--batch-size 0: expected at least 1");
        }
        if self.devices == 0 {
            bail!("--devices 0: expected at least 1");
        }
        if !self.batch_size.is_multiple_of(self.devices) {
            bail!(
                "--devices {}: --batch-size {} does not split evenly across {} devices (expected a multiple of {}: each device trains on an equal share of every step's batch)",
                self.devices,
                self.batch_size,
                self.devices,
                self.devices
            );
        }
        if self.epochs == 0 {
            bail!("--epochs 0: expected at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            bail!("--lr {}: expected a positive number", self.lr);
        }
        if self.schedule == Schedule::Cosine && self.lr > 1.0 {
            bail!(
                "--lr {}: the cosine schedule takes a learning rate of at most 1 (use --schedule constant)",
                self.lr
            );
        }
        if !(self.valid_ratio > 0.0 && self.valid_ratio < 1.0) {
            bail!(
                "--valid-ratio {}: expected a number between 0 and 1",
                self.valid_ratio
            );
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            bail!(
                "--weight-decay {}: expected 0 or a positive number",
                self.weight_decay
            );
        }
        if !(0.0..1.0).contains(&self.momentum) {
            bail!("--momentum {}: expected a number in [0, 1)", self.momentum);
        }
        if self.workers == 0 {
            bail!("--workers 0: expected at least 1");
        }
        if let Some(alpha) = self.label_smoothing
            && !(0.0..1.0).contains(&alpha)
        {
            bail!("--label-smoothing {alpha}: expected a number in [0, 1) (0: off)");
        }
        if let Some(normalise) = &self.normalise {
            normalise
                .check()
                .map_err(|e| anyhow::anyhow!("--normalise: {e}"))?;
        }
        self.augment
            .check()
            .map_err(|e| anyhow::anyhow!("--augment: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `config.json` of a run saved before `devices` existed, as this
    /// project's trainer wrote it (`--model mlp --epochs 1`).
    const SAVED_BEFORE_DEVICES: &str = r#"{"model": {"network": "mlp", "layers": [784, 256, 12], "activation": "leakyrelu", "dropout": 0.0}, "data": {"kind": "folder", "path": "/work/shared/hanzi12/train"}, "backend": "flex", "epochs": 1, "batch_size": 64, "lr": 0.001, "optimizer": "adam", "momentum": 0.9, "weight_decay": 0.0, "schedule": "cosine", "augment": {"handwriting": null, "scheme": "random", "max_shift": 2, "crop": 22, "noise_pixels": 5}, "convention": "ink", "normalise": {"ink_side": 22.0, "centre": "mass", "threshold": null}, "label_smoothing": null, "valid_ratio": 0.16129032258064516, "seed": 42, "workers": 1, "patience": 0, "init": null}"#;

    #[test]
    fn a_run_saved_before_devices_existed_loads_on_one_device() {
        let config = TrainConfig::from_saved(SAVED_BEFORE_DEVICES).unwrap();
        assert_eq!(config.devices, 1);
        config.check().unwrap();
        let saved = serde_json::to_value(&config).unwrap();
        assert_eq!(saved["devices"], 1);
    }
}
