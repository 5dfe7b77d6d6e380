//! `--resume` with other flags: what may change when a saved run goes on.
//!
//! Flags that say where and how a run executes are honoured (resuming a CPU
//! run on a GPU is a real use); `--epochs` gives the run a new length, on
//! purpose: its schedule is stretched or cut to it, which is said and
//! recorded in `config.json`; a flag that would change the recipe is refused,
//! naming it, since the checkpoints were trained with the saved one.

use anyhow::{Result, bail};

use super::TrainConfig;
use super::from_args::described;
use crate::args::TrainArgs;

/// Flags that say where and how the run executes. (`--devices` splits the
/// same `--batch-size` across devices, so the run's steps, and its
/// learning-rate schedule, stay what they were.)
const EXECUTION: [&str; 4] = ["backend", "devices", "workers", "keep-every-epoch"];
/// Flags that name the data.
const DATA: [&str; 3] = ["data", "per-class", "data-seed"];
/// Flags that are part of resuming itself.
const RESUMING: [&str; 3] = ["resume", "artifacts", "epochs"];

impl TrainConfig {
    /// This saved run, to be continued after `done` epochs with the flags of
    /// `args`.
    pub fn resumed_with(mut self, args: &TrainArgs, done: usize) -> Result<TrainConfig> {
        let given = |flag: &str| args.given.contains(flag);
        // The data flags are compared only when given: their default is the saved data.
        let data = match DATA.iter().any(|flag| given(flag)) {
            true => args.data_source()?,
            false => self.data.clone(),
        };
        let wanted = described(args, data)?;
        let changed: Vec<String> = args
            .given
            .0
            .iter()
            .filter(|flag| {
                !EXECUTION.contains(&flag.as_str()) && !RESUMING.contains(&flag.as_str())
            })
            .filter(|flag| differs(flag, &wanted, &self))
            .map(|flag| format!("--{flag}"))
            .collect();
        if !changed.is_empty() {
            bail!(
                "--resume: {} would change the run's recipe (saved in its config.json); a resumed run may change only --backend, --devices, --workers and --epochs (train a new run, or --init from this one, to change the rest)",
                changed.join(", ")
            );
        }
        if given("backend") {
            self.backend = wanted.backend;
        }
        if given("devices") {
            self.devices = wanted.devices;
        }
        if given("workers") {
            self.workers = wanted.workers;
        }
        if given("epochs") && wanted.epochs != self.epochs {
            self.epochs = new_length(self.epochs, wanted.epochs, done)?;
        }
        self.check()?;
        Ok(self)
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

/// Whether `flag` asks for a different setting than the saved run's.
fn differs(flag: &str, wanted: &TrainConfig, saved: &TrainConfig) -> bool {
    match flag {
        "model" | "hidden" | "activation" | "dropout" => !same(&wanted.model, &saved.model),
        "data" | "per-class" | "data-seed" => wanted.data != saved.data,
        "batch-size" => wanted.batch_size != saved.batch_size,
        "lr" => wanted.lr != saved.lr,
        "optimizer" => wanted.optimizer != saved.optimizer,
        "momentum" => wanted.momentum != saved.momentum,
        "weight-decay" => wanted.weight_decay != saved.weight_decay,
        "schedule" => wanted.schedule != saved.schedule,
        "augment" => wanted.augment.scheme != saved.augment.scheme,
        "normalise" => wanted.normalise != saved.normalise,
        "label-smoothing" => wanted.label_smoothing != saved.label_smoothing,
        "convention" => wanted.convention != saved.convention,
        "valid-ratio" => wanted.valid_ratio != saved.valid_ratio,
        "seed" => wanted.seed != saved.seed,
        "patience" => wanted.patience != saved.patience,
        "init" => wanted.init != saved.init,
        // A flag this list does not know is taken as a change: refusing is
        // safer than silently ignoring it.
        _ => true,
    }
}

/// Equal settings, compared as they are saved.
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Given;
    use crate::backend::Backend;
    use crate::config::from_args::tests::train_args;
    use crate::data::DataSource;

    /// A saved run: an MLP of 4 epochs on synthetic data.
    fn saved() -> TrainConfig {
        let args = train_args(&["--model", "mlp", "--epochs", "4", "--lr", "0.01"]);
        described(
            &args,
            DataSource::Synthetic {
                per_class: 10,
                seed: 1,
            },
        )
        .unwrap()
    }

    /// The flags of `argv`, all marked as given.
    fn resume_args(argv: &[&str]) -> TrainArgs {
        let mut args = train_args(argv);
        args.given = Given(
            argv.iter()
                .filter_map(|a| a.strip_prefix("--"))
                .map(str::to_string)
                .collect(),
        );
        args
    }

    #[test]
    fn where_and_how_it_runs_is_honoured() {
        let args = resume_args(&["--backend", "ndarray", "--workers", "3", "--devices", "2"]);
        let resumed = saved().resumed_with(&args, 2).unwrap();
        assert_eq!((resumed.backend, resumed.workers), (Backend::Ndarray, 3));
        assert_eq!(resumed.devices, 2);
        assert_eq!((resumed.epochs, resumed.lr), (4, 0.01));
        // Back to one device: also honoured.
        let one = resumed.resumed_with(&resume_args(&["--devices", "1"]), 3);
        assert_eq!(one.unwrap().devices, 1);
    }

    #[test]
    fn devices_split_the_saved_batch_not_the_default_one() {
        let args = train_args(&["--model", "mlp", "--batch-size", "96"]);
        let data = DataSource::Synthetic {
            per_class: 10,
            seed: 1,
        };
        let saved = described(&args, data).unwrap();
        let resumed = saved.resumed_with(&resume_args(&["--devices", "3"]), 1);
        assert_eq!(resumed.unwrap().devices, 3);
    }

    #[test]
    fn a_device_count_the_saved_batch_does_not_split_into_is_refused() {
        // The saved batch is 64: three devices cannot share it evenly.
        let error = saved()
            .resumed_with(&resume_args(&["--devices", "3"]), 2)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--devices 3: --batch-size 64 does not split evenly"),
            "{error}"
        );
    }

    #[test]
    fn defaults_do_not_count_as_flags() {
        // No flag given: the saved lr 0.01 stays, although the default is 0.001.
        let resumed = saved().resumed_with(&resume_args(&[]), 2).unwrap();
        assert_eq!(resumed.to_string(), saved().to_string());
    }

    #[test]
    fn epochs_extend_the_run_but_not_below_what_it_trained() {
        let longer = saved()
            .resumed_with(&resume_args(&["--epochs", "6"]), 4)
            .unwrap();
        assert_eq!(longer.epochs, 6);
        let error = saved()
            .resumed_with(&resume_args(&["--epochs", "3"]), 4)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--epochs 3: the run has already trained 4 epochs"),
            "{error}"
        );
    }

    #[test]
    fn recipe_flags_are_refused_by_name_unless_they_repeat_the_run() {
        let error = saved()
            .resumed_with(
                &resume_args(&["--lr", "0.1", "--seed", "7", "--backend", "wgpu"]),
                2,
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--resume: --lr, --seed would change"),
            "{error}"
        );
        // The same values as saved are not a change.
        let same = resume_args(&["--lr", "0.01", "--model", "mlp"]);
        assert!(saved().resumed_with(&same, 2).is_ok());
        let error = saved()
            .resumed_with(&resume_args(&["--model", "cnn"]), 2)
            .unwrap_err()
            .to_string();
        assert!(error.contains("--model"), "{error}");
    }

    #[test]
    fn a_full_command_line_with_per_class_repeats_the_run() {
        // What `study --plan` prints for a resumed run: every flag, again.
        let argv = [
            "--model",
            "mlp",
            "--epochs",
            "4",
            "--data",
            "d",
            "--per-class",
            "24",
        ];
        let saved = TrainConfig::try_from(&train_args(&argv)).unwrap();
        let again: Vec<&str> = argv.iter().copied().chain(["--keep-every-epoch"]).collect();
        let resumed = saved.clone().resumed_with(&resume_args(&again), 2).unwrap();
        assert_eq!(resumed.to_string(), saved.to_string());
        let other = ["--data", "d", "--per-class", "30"];
        let error = saved
            .resumed_with(&resume_args(&other), 2)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--resume: --data, --per-class would change"),
            "{error}"
        );
    }
}
