//! A run's settings, in two parts: the [`Recipe`], what is trained (the
//! network, data, augmentation, optimiser, schedule, …), and the
//! [`Execution`], where and how it runs (backend, devices, loader threads).
//! A run folder's `config.json` holds both ([`RunSettings`], `file.rs`); a
//! recipe file holds a recipe alone, and `trainer train --recipe FILE`
//! trains it.
//!
//! Every setting has one default, here: `Recipe::default()` is what
//! `cargo run -p trainer -- --model cnn_res` trains.

mod differences;
mod execution;
mod file;
mod resume;

pub use differences::Difference;
pub use execution::Execution;
pub use file::{FORMAT, RunSettings};

use anyhow::{Result, bail};
use dataset::{AugmentConfig, NormaliseConfig, PixelConvention};
use models::{ModelConfig, ModelOptions};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::data::{DataSource, SYNTH_PER_CLASS, SYNTH_TRAIN_PER_CLASS};

/// The network the main job trains.
pub const DEFAULT_MODEL: &str = "cnn_res";

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

/// What a run trains: every setting that decides its numbers. Two runs of
/// one recipe on one backend reach the same metrics.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub model: ModelConfig,
    pub data: DataSource,
    pub epochs: usize,
    /// Images per optimizer step (split evenly across the execution's devices).
    pub batch_size: usize,
    /// The learning rate (the peak of the schedule).
    pub lr: f64,
    pub optimizer: OptimizerKind,
    /// SGD momentum (0 for plain SGD).
    pub momentum: f64,
    pub weight_decay: f64,
    pub schedule: Schedule,
    pub augment: AugmentConfig,
    pub convention: PixelConvention,
    /// How every image's ink is cropped, scaled and centred before the
    /// network sees it, in training, validation, `predict`, `eval` and
    /// `serve` alike; `None`: the course's raw 28x28 boxes.
    pub normalise: Option<NormaliseConfig>,
    /// Label smoothing α of the training loss (validation is not smoothed).
    pub label_smoothing: Option<f32>,
    /// Fraction of each class held out for validation (the last files by number).
    pub valid_ratio: f64,
    /// Seeds the weights, the order of the images and their augmentation.
    pub seed: u64,
    /// Stop when validation loss has not improved for this many epochs (0: never).
    pub patience: usize,
    /// Start from the weights of this run folder (fine-tuning) instead of a
    /// random initialisation; the networks must be the same.
    pub init: Option<PathBuf>,
}

impl Default for Recipe {
    /// The main job's recipe: `cnn_res` on `data/train`, else on the
    /// built-in synthetic handwriting.
    fn default() -> Recipe {
        let model = ModelConfig::from_name(DEFAULT_MODEL, &ModelOptions::default())
            .expect("the default network exists");
        let data = DataSource::real(None).unwrap_or(DataSource::Synthetic {
            per_class: SYNTH_TRAIN_PER_CLASS,
            seed: DEFAULT_SEED,
        });
        Recipe::new(model, data)
    }
}

/// The seed of the main job, and of the synthetic images it draws.
pub const DEFAULT_SEED: u64 = 42;

impl Recipe {
    /// The main job's recipe for `model` on `data`: every other setting is
    /// the default, and the epochs follow [`Recipe::default_epochs`].
    pub fn new(model: ModelConfig, data: DataSource) -> Recipe {
        Recipe {
            epochs: Recipe::default_epochs(&model, &data),
            model,
            data,
            batch_size: 64,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            weight_decay: 0.0,
            schedule: Schedule::Cosine,
            // With normalisation, one random view per image reaches the best
            // held-out accuracy in a quarter of views4's steps (docs/accuracy.md).
            augment: AugmentConfig::new(),
            convention: PixelConvention::Ink,
            normalise: Some(NormaliseConfig::default()),
            label_smoothing: None,
            valid_ratio: dataset::DEFAULT_VALID_RATIO,
            seed: DEFAULT_SEED,
            patience: 0,
            init: None,
        }
    }

    /// Epochs of a run whose length is not given: 10, the MLP 30 (it is
    /// cheap, and still improving after 10: docs/accuracy.md); on synthetic
    /// data larger than the course set, fewer, so that a run takes as many
    /// steps as on the course set's 620 images per class.
    pub fn default_epochs(model: &ModelConfig, data: &DataSource) -> usize {
        let epochs = match model {
            ModelConfig::Mlp(_) => 30,
            _ => 10,
        };
        match data {
            DataSource::Synthetic { per_class, .. } if *per_class > SYNTH_PER_CLASS => {
                (epochs * SYNTH_PER_CLASS).div_ceil(*per_class)
            }
            _ => epochs,
        }
    }

    /// Refuses settings that cannot train, naming the flag that sets them.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            bail!("--batch-size 0: expected at least 1");
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
    use dataset::AugmentScheme;

    #[test]
    fn the_default_recipe_is_the_main_jobs() {
        let recipe = Recipe::default();
        assert_eq!(recipe.model.name(), "cnn_res");
        assert_eq!(recipe.augment.scheme, AugmentScheme::Random);
        assert_eq!(recipe.normalise, Some(NormaliseConfig::default()));
        assert_eq!((recipe.batch_size, recipe.lr, recipe.seed), (64, 1e-3, 42));
        recipe.check().unwrap();
    }

    #[test]
    fn epochs_follow_the_network_and_the_data() {
        let mlp = ModelConfig::from_name("mlp", &ModelOptions::default()).unwrap();
        let cnn = ModelConfig::from_name("cnn", &ModelOptions::default()).unwrap();
        let folder = DataSource::Folder {
            path: "d".into(),
            per_class: None,
        };
        let synthetic = |per_class| DataSource::Synthetic { per_class, seed: 1 };
        assert_eq!(Recipe::new(mlp.clone(), folder.clone()).epochs, 30);
        assert_eq!(Recipe::new(cnn.clone(), folder).epochs, 10);
        assert_eq!(Recipe::new(cnn.clone(), synthetic(1240)).epochs, 5);
        assert_eq!(Recipe::new(mlp, synthetic(1240)).epochs, 15);
        assert_eq!(Recipe::new(cnn, synthetic(100)).epochs, 10);
    }
}
