//! `trainer` / `trainer train`: the main job's flags, and the settings they
//! make. A recipe flag left out keeps the base recipe's setting: the main
//! job's (`Recipe::default()`), the `--recipe` file's, or the resumed run's.

use anyhow::{Context, Result, ensure};
use clap::Args;
use dataset::AugmentScheme;
use std::path::PathBuf;

use super::{ConventionArg, DataArgs, ModelArgs, NormaliseArg};
use crate::backend::Backend;
use crate::data::{DataSource, SYNTH_TRAIN_PER_CLASS};
use crate::recipe::{Execution, OptimizerKind, Recipe, RunSettings, Schedule};

/// Train a network (the default command). Flags left out take the main job's recipe (`trainer train --print-recipe` shows it), or the --recipe file's.
#[derive(Args, Debug, Clone, Default)]
pub struct TrainArgs {
    /// Train the recipe of this file: a recipe file (`--print-recipe`) or a run's config.json; flags given beside it change single settings, and are said.
    #[arg(long, value_name = "FILE")]
    pub recipe: Option<PathBuf>,
    /// Write the recipe these flags make (as a recipe file, to stdout) and stop, training nothing.
    #[arg(long, conflicts_with = "resume")]
    pub print_recipe: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Passes over the training data [default: 10; the mlp: 30; half as many on the built-in synthetic data, which has twice the images]; with --resume, a new length for the run.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per optimizer step, split evenly across --devices [default: 64].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate, the peak of the schedule [default: 0.001].
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// adam or sgd [default: adam].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// L2 penalty added to each gradient [default: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule: cosine (decay to 0 over the run) or constant [default: cosine].
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
    /// Training augmentation: views4 (each image plain, translated, cropped, noised), random (one view per item), handwriting (rotation, slant, scale, pen, elastic), none [default: random].
    #[arg(long)]
    pub augment: Option<AugmentScheme>,
    /// Ink normalisation of every image (training, validation, predict, eval, serve): mass (crop to the ink, scale its longer side to 22 px, centre by mass), box (centre the ink's box), none (the raw 28x28 boxes, as the course did) [default: mass].
    #[arg(long, value_enum)]
    pub normalise: Option<NormaliseArg>,
    /// Label smoothing of the training loss, e.g. 0.1 (each target 1 - α on its class, α spread over all 12); 0: off [default: off].
    #[arg(long)]
    pub label_smoothing: Option<f32>,
    /// Pixel convention: ink (ink = 1) or raw (white = 1, as in the files) [default: ink].
    #[arg(long, value_enum)]
    pub convention: Option<ConventionArg>,
    /// Fraction of each class held out for validation, the last files by number [default: 0.1613, 100 of the course's 620].
    #[arg(long)]
    pub valid_ratio: Option<f64>,
    /// Images per class: the first N files of each class of the data folder, or N synthetic images per class [default: every file; synthetic: 1240].
    #[arg(long, value_name = "N")]
    pub per_class: Option<usize>,
    /// Seed of the synthetic images, when there is no data folder [default: --seed].
    #[arg(long)]
    pub data_seed: Option<u64>,
    /// Seed of the weights, the order of the images and their augmentation [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this many epochs without a better validation loss; 0: never [default: 0].
    #[arg(long)]
    pub patience: Option<usize>,
    /// Start from the weights of a trained run folder (fine-tuning) instead of random ones.
    #[arg(long)]
    pub init: Option<PathBuf>,
    #[arg(long, help = format!("{} [default: flex]", Backend::help()))]
    pub backend: Option<Backend>,
    /// Devices that train the run together through Burn's multi-device strategy: with --backend wgpu the N best adapters, with a CPU backend N workers sharing the CPU. Each trains on an equal share of every step's batch, and Burn combines their gradients into one step (docs/devices.md) [default: 1].
    #[arg(long)]
    pub devices: Option<usize>,
    /// Data-loading threads [default: 1, which keeps the batch order reproducible].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Keep every epoch's checkpoint, not only the last two and the best (to measure each epoch afterwards, as `study regularise` does).
    #[arg(long)]
    pub keep_every_epoch: bool,
    /// Run folder [default: artifacts/<model>-<date-time>].
    #[arg(long)]
    pub artifacts: Option<PathBuf>,
    /// Continue the run saved in --artifacts from its last complete epoch (--backend, --devices, --workers and --keep-every-epoch may change; --epochs extends or shortens the run; any other change of its recipe is refused).
    #[arg(long, requires = "artifacts")]
    pub resume: bool,
}

impl TrainArgs {
    /// The settings of a new run: the flags over the `--recipe` file (else
    /// over the main job's recipe), checked.
    pub fn settings(&self) -> Result<RunSettings> {
        let file = self.recipe_file()?;
        let recipe = self.recipe_over(file.clone())?;
        if let (Some(path), Some(file)) = (&self.recipe, &file) {
            for change in file.differences(&recipe) {
                println!("--recipe {}: {change} (a flag)", path.display());
            }
        }
        let settings = RunSettings {
            recipe,
            execution: self.execution_over(Execution::default()),
        };
        settings.check()?;
        Ok(settings)
    }

    /// The settings the flags ask a saved run to go on with: the flags
    /// over its recipe (or over the `--recipe` file) and its execution.
    pub fn wanted_of(&self, saved: &RunSettings) -> Result<RunSettings> {
        let base = self.recipe_file()?.unwrap_or_else(|| saved.recipe.clone());
        Ok(RunSettings {
            recipe: self.recipe_over(Some(base))?,
            execution: self.execution_over(saved.execution.clone()),
        })
    }

    fn recipe_file(&self) -> Result<Option<Recipe>> {
        self.recipe
            .as_deref()
            .map(|path| Recipe::read(path).context("--recipe"))
            .transpose()
    }

    /// The recipe the flags make over `base` (else over the main job's:
    /// there, the data and the epochs follow the flags' network and data).
    pub fn recipe_over(&self, base: Option<Recipe>) -> Result<Recipe> {
        let on_default = base.is_none();
        let base = base.unwrap_or_default();
        let model = self.model.config_over(&base.model)?;
        let seed = self.seed.unwrap_or(base.seed);
        let data = match on_default || self.names_data() {
            true => self.data_source(seed)?,
            false => base.data.clone(),
        };
        let epochs = match (self.epochs, on_default) {
            (Some(epochs), _) => epochs,
            (None, true) => Recipe::default_epochs(&model, &data),
            (None, false) => base.epochs,
        };
        Ok(Recipe {
            model,
            data,
            epochs,
            batch_size: self.batch_size.unwrap_or(base.batch_size),
            lr: self.lr.unwrap_or(base.lr),
            optimizer: self.optimizer.unwrap_or(base.optimizer),
            momentum: self.momentum.unwrap_or(base.momentum),
            weight_decay: self.weight_decay.unwrap_or(base.weight_decay),
            schedule: self.schedule.unwrap_or(base.schedule),
            augment: match self.augment {
                Some(scheme) => base.augment.with_scheme(scheme),
                None => base.augment,
            },
            convention: self.convention.map_or(base.convention, |c| c.convention()),
            normalise: self.normalise.map_or(base.normalise, |n| n.config()),
            // 0 is the same as no smoothing, and saved as such.
            label_smoothing: match self.label_smoothing {
                Some(alpha) => (alpha != 0.0).then_some(alpha),
                None => base.label_smoothing,
            },
            valid_ratio: self.valid_ratio.unwrap_or(base.valid_ratio),
            seed,
            patience: self.patience.unwrap_or(base.patience),
            init: self.init.clone().or(base.init),
        })
    }

    /// `base` with what the execution flags change.
    pub fn execution_over(&self, base: Execution) -> Execution {
        Execution {
            backend: self.backend.unwrap_or(base.backend),
            devices: self.devices.unwrap_or(base.devices),
            workers: self.workers.unwrap_or(base.workers),
            keep_every_epoch: self.keep_every_epoch || base.keep_every_epoch,
        }
    }

    /// Whether a flag names the data.
    fn names_data(&self) -> bool {
        self.data.path.is_some() || self.per_class.is_some() || self.data_seed.is_some()
    }

    /// The data the flags name: the folder of `--data` (else `data/train`),
    /// or the first `--per-class` files of each of its classes; without a
    /// folder, `--per-class` synthetic images per class drawn with
    /// `--data-seed` (else `seed`).
    pub fn data_source(&self, seed: u64) -> Result<DataSource> {
        ensure!(
            self.per_class != Some(0),
            "--per-class 0: expected at least 1 image per class"
        );
        let seed = self.data_seed.unwrap_or(seed);
        let synthetic = self.per_class.unwrap_or(SYNTH_TRAIN_PER_CLASS);
        let mut data = self.data.source(seed, synthetic);
        if let DataSource::Folder { per_class, .. } = &mut data {
            *per_class = self.per_class;
        }
        Ok(data)
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    fn settings(argv: &[&str]) -> Result<RunSettings> {
        train_args(argv).settings()
    }

    #[test]
    fn no_flags_make_the_default_recipe() {
        let made = train_args(&[]).recipe_over(None).unwrap();
        assert!(made.differences(&Recipe::default()).is_empty());
        let made = settings(&["--model", "cnn_res"]).unwrap();
        assert!(made.recipe.differences(&Recipe::default()).is_empty());
        assert_eq!(made.execution, Execution::default());
    }

    #[test]
    fn label_smoothing_zero_is_off() {
        let smoothing = |argv: &[&str]| settings(argv).unwrap().recipe.label_smoothing;
        assert_eq!(smoothing(&[]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0"]), None);
        assert_eq!(smoothing(&["--label-smoothing", "0.1"]), Some(0.1));
    }

    #[test]
    fn per_class_and_data_seed_name_the_data() {
        let data = |argv: &[&str]| train_args(argv).data_source(42);
        assert_eq!(
            data(&["--data", "d", "--per-class", "24"]).unwrap(),
            DataSource::Folder {
                path: "d".into(),
                per_class: Some(24)
            }
        );
        assert_eq!(
            data(&["--per-class", "24", "--data-seed", "3"]).unwrap(),
            DataSource::Synthetic {
                per_class: 24,
                seed: 3
            }
        );
        let error = data(&["--data", "d", "--per-class", "0"]).unwrap_err();
        assert!(error.to_string().starts_with("--per-class 0: "), "{error}");
    }

    #[test]
    fn devices_take_equal_shares_of_the_batch() {
        let four = settings(&["--devices", "4", "--batch-size", "32"]).unwrap();
        assert_eq!((four.execution.devices, four.recipe.batch_size), (4, 32));
        let error = |argv: &[&str]| settings(argv).unwrap_err().to_string();
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

    #[test]
    fn flags_change_single_settings_of_a_recipe_file() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("recipe.json");
        let base = settings(&["--model", "mlp", "--lr", "0.05", "--per-class", "9"]).unwrap();
        std::fs::write(&file, base.recipe.to_json()).unwrap();
        let f = file.to_str().unwrap();
        let same = settings(&["--recipe", f]).unwrap();
        assert!(same.recipe.differences(&base.recipe).is_empty());
        let changed = settings(&["--recipe", f, "--seed", "7", "--epochs", "2"]).unwrap();
        let names: Vec<String> = base
            .recipe
            .differences(&changed.recipe)
            .into_iter()
            .map(|d| d.setting)
            .collect();
        // The data stays the file's: --seed alone does not redraw it.
        assert_eq!(names, ["epochs", "seed"]);
    }

    #[test]
    fn a_resumed_run_keeps_what_no_flag_changes() {
        let saved = settings(&["--model", "mlp", "--lr", "0.01", "--batch-size", "96"]).unwrap();
        let wanted = train_args(&["--devices", "3", "--backend", "ndarray"])
            .wanted_of(&saved)
            .unwrap();
        let resumed = saved.clone().resumed_as(wanted, 1).unwrap();
        assert_eq!(resumed.execution.devices, 3);
        assert_eq!(resumed.execution.backend, Backend::Ndarray);
        assert!(resumed.recipe.differences(&saved.recipe).is_empty());
        // The same value as saved is not a change; another is, by name.
        let again = train_args(&["--lr", "0.01", "--model", "mlp"]).wanted_of(&saved);
        assert!(saved.clone().resumed_as(again.unwrap(), 1).is_ok());
        let other = train_args(&["--data", "d", "--per-class", "30"]).wanted_of(&saved);
        let error = saved.resumed_as(other.unwrap(), 1).unwrap_err().to_string();
        assert!(error.contains("would change: data "), "{error}");
    }
}
