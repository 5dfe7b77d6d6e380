//! `--resume`: what may change when a saved run goes on.
//!
//! Where and how it runs (the [`Execution`](super::Execution)) may change:
//! resuming a CPU run on a GPU is a real use. Its length may change, on
//! purpose: the schedule is stretched or cut to it, which is said and
//! recorded. Any other change of the recipe is refused, naming the settings
//! and both values, since the checkpoints were trained with the saved one.

use anyhow::{Result, bail};

use super::{Recipe, RunSettings};

impl RunSettings {
    /// This saved run, to go on after `done` epochs as `wanted` asks (the
    /// settings the command line makes from the saved ones).
    pub fn resumed_as(self, wanted: RunSettings, done: usize) -> Result<RunSettings> {
        let same_length = Recipe {
            epochs: self.recipe.epochs,
            ..wanted.recipe.clone()
        };
        let changed = self.recipe.differences(&same_length);
        if !changed.is_empty() {
            let changed: Vec<String> = changed.iter().map(ToString::to_string).collect();
            bail!(
                "--resume: the run's recipe (its config.json) would change: {}; a resumed run may change only where it runs (--backend, --devices, --workers, --keep-every-epoch) and its length (--epochs): train a new run, or --init from this one, to change the rest",
                changed.join(", ")
            );
        }
        let epochs = match wanted.recipe.epochs == self.recipe.epochs {
            true => self.recipe.epochs,
            false => new_length(self.recipe.epochs, wanted.recipe.epochs, done)?,
        };
        let resumed = RunSettings {
            recipe: Recipe {
                epochs,
                ..self.recipe
            },
            execution: wanted.execution,
        };
        resumed.check()?;
        Ok(resumed)
    }
}

/// The run's new length, said out loud; refused if it would end before
/// epochs already trained.
fn new_length(saved: usize, wanted: usize, done: usize) -> Result<usize> {
    if wanted < done {
        bail!(
            "--epochs {wanted}: the run has already trained {done} epochs (expected at least {done})"
        );
    }
    println!(
        "--epochs {wanted}: the run's length changes from {saved} to {wanted} epochs; its learning-rate schedule now spans {wanted} epochs from where it stands (recorded in config.json)"
    );
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::data::DataSource;
    use crate::recipe::Execution;
    use models::{ModelConfig, ModelOptions};

    /// A saved run: an MLP of 4 epochs on synthetic data.
    fn saved() -> RunSettings {
        let mlp = ModelConfig::from_name("mlp", &ModelOptions::default()).unwrap();
        let data = DataSource::Synthetic {
            per_class: 10,
            seed: 1,
        };
        RunSettings {
            recipe: Recipe {
                epochs: 4,
                lr: 0.01,
                ..Recipe::new(mlp, data)
            },
            execution: Execution::default(),
        }
    }

    #[test]
    fn where_and_how_it_runs_may_change() {
        let mut wanted = saved();
        wanted.execution = Execution {
            backend: Backend::Ndarray,
            devices: 2,
            workers: 3,
            keep_every_epoch: true,
        };
        let resumed = saved().resumed_as(wanted.clone(), 2).unwrap();
        assert_eq!(resumed.execution, wanted.execution);
        assert!(resumed.recipe.differences(&saved().recipe).is_empty());
    }

    #[test]
    fn a_device_count_the_saved_batch_does_not_split_into_is_refused() {
        let mut wanted = saved();
        wanted.execution.devices = 3;
        let error = saved().resumed_as(wanted, 2).unwrap_err().to_string();
        assert!(
            error.starts_with("--devices 3: --batch-size 64 does not split evenly"),
            "{error}"
        );
    }

    #[test]
    fn epochs_extend_the_run_but_not_below_what_it_trained() {
        let length = |epochs| {
            let mut wanted = saved();
            wanted.recipe.epochs = epochs;
            saved().resumed_as(wanted, 4)
        };
        assert_eq!(length(6).unwrap().recipe.epochs, 6);
        let error = length(3).unwrap_err().to_string();
        assert!(
            error.starts_with("--epochs 3: the run has already trained 4 epochs"),
            "{error}"
        );
    }

    #[test]
    fn recipe_changes_are_refused_naming_each_with_both_values() {
        let mut wanted = saved();
        wanted.recipe.lr = 0.1;
        wanted.recipe.seed = 7;
        wanted.execution.backend = Backend::Ndarray;
        let error = saved().resumed_as(wanted, 2).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "--resume: the run's recipe (its config.json) would change: lr 0.01 → 0.1, seed 42 → 7;"
            ),
            "{error}"
        );
    }
}
