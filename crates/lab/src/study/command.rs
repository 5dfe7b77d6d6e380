//! A planned run as the `trainer` command line that trains it: every
//! setting spelt out as a flag, so the command means the same whatever the
//! defaults become; a setting no flag can express is refused, naming it.

use anyhow::{Result, bail};
use clap::ValueEnum;
use dataset::{AugmentConfig, PixelConvention};
use hanzi12::TrainConfig;
use hanzi12::args::NormaliseArg;
use hanzi12::data::DataSource;
use models::{ModelConfig, ModelOptions};
use std::path::Path;

use super::plan::{Job, PlannedRun};
use crate::scratch::SineConfig;

/// The program every planned command starts with.
pub const PROGRAM: &str = "trainer";

impl PlannedRun {
    /// The command's words, program first; a run whose folder already
    /// holds one continues it (`--resume`).
    pub fn argv(&self) -> Result<Vec<String>> {
        let mut argv = vec![PROGRAM.to_string()];
        match &self.job {
            Job::Train {
                config,
                keep_every_epoch,
            } => {
                argv.extend(words(&["train", "--artifacts"]));
                argv.push(path(&self.dir));
                if self.started() {
                    argv.push("--resume".into());
                }
                argv.extend(train_flags(config)?);
                if *keep_every_epoch {
                    argv.push("--keep-every-epoch".into());
                }
            }
            Job::Sine(config) => {
                argv.extend(sine_flags(config));
                argv.extend(["--out".to_string(), path(&self.dir)]);
            }
        }
        Ok(argv)
    }

    /// The command as one line for a POSIX shell.
    pub fn command(&self) -> Result<String> {
        Ok(shell_line(&self.argv()?))
    }
}

/// `argv` quoted for a POSIX shell where a word needs it.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|word| shlex::try_quote(word).map_or_else(|_| word.clone(), |q| q.into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// A clap value's name on the command line.
fn value<T: ValueEnum>(v: T) -> String {
    let value = v.to_possible_value().expect("every value has a name");
    value.get_name().to_string()
}

/// `trainer train`'s flags for every setting of `config`.
fn train_flags(config: &TrainConfig) -> Result<Vec<String>> {
    let mut flags = model_flags(&config.model)?;
    let pairs: [(&str, String); 13] = [
        ("--backend", config.backend.to_string()),
        ("--devices", config.devices.to_string()),
        ("--epochs", config.epochs.to_string()),
        ("--batch-size", config.batch_size.to_string()),
        ("--lr", config.lr.to_string()),
        ("--optimizer", value(config.optimizer)),
        ("--momentum", config.momentum.to_string()),
        ("--weight-decay", config.weight_decay.to_string()),
        ("--schedule", value(config.schedule)),
        ("--augment", augment(&config.augment)?),
        ("--normalise", normalise(config)?),
        ("--convention", convention(config.convention)),
        ("--valid-ratio", config.valid_ratio.to_string()),
    ];
    for (flag, v) in pairs {
        flags.extend([flag.to_string(), v]);
    }
    if let Some(alpha) = config.label_smoothing {
        flags.extend(["--label-smoothing".to_string(), alpha.to_string()]);
    }
    for (flag, v) in [
        ("--seed", config.seed),
        ("--workers", config.workers as u64),
        ("--patience", config.patience as u64),
    ] {
        flags.extend([flag.to_string(), v.to_string()]);
    }
    if let Some(init) = &config.init {
        flags.extend(["--init".to_string(), path(init)]);
    }
    flags.extend(data_flags(&config.data)?);
    Ok(flags)
}

/// `--model` and its options, checked to build the same network again.
fn model_flags(model: &ModelConfig) -> Result<Vec<String>> {
    let mut flags = words(&["--model", model.name()]);
    let mut options = ModelOptions::default();
    match model {
        ModelConfig::Mlp(mlp) => {
            let hidden = &mlp.layers[1..mlp.layers.len().saturating_sub(1)];
            let joined: Vec<String> = hidden.iter().map(usize::to_string).collect();
            flags.extend(["--hidden".to_string(), joined.join(",")]);
            flags.extend(["--activation".to_string(), mlp.activation.to_string()]);
            flags.extend(["--dropout".to_string(), mlp.dropout.to_string()]);
            options.hidden = Some(hidden.to_vec());
            options.activation = Some(mlp.activation);
            options.dropout = Some(mlp.dropout);
        }
        ModelConfig::Cnn(cnn) => {
            flags.extend(["--dropout".to_string(), cnn.dropout.to_string()]);
            options.dropout = Some(cnn.dropout);
        }
        ModelConfig::CnnRes(_) => {}
    }
    let again = ModelConfig::from_name(model.name(), &options)?;
    if serde_json::to_value(&again)? != serde_json::to_value(model)? {
        bail!(
            "the network `{}` has settings no `trainer train` flag sets",
            model.describe()
        );
    }
    Ok(flags)
}

fn augment(augment: &AugmentConfig) -> Result<String> {
    if *augment != AugmentConfig::new().with_scheme(augment.scheme) {
        bail!("augmentation limits other than the defaults have no `trainer train` flag");
    }
    Ok(augment.scheme.to_string())
}

fn normalise(config: &TrainConfig) -> Result<String> {
    let arg = NormaliseArg::value_variants()
        .iter()
        .find(|arg| arg.config() == config.normalise);
    match arg {
        Some(&arg) => Ok(value(arg)),
        None => bail!("a normalisation other than mass, box or none has no `trainer train` flag"),
    }
}

fn convention(convention: PixelConvention) -> String {
    match convention {
        PixelConvention::Ink => "ink",
        PixelConvention::Raw => "raw",
    }
    .to_string()
}

fn data_flags(data: &DataSource) -> Result<Vec<String>> {
    Ok(match data {
        DataSource::Folder {
            path: root,
            per_class,
        } => {
            let mut flags = vec!["--data".to_string(), path(root)];
            if let Some(n) = per_class {
                flags.extend(["--per-class".to_string(), n.to_string()]);
            }
            flags
        }
        DataSource::Synthetic { per_class, seed } => vec![
            "--per-class".to_string(),
            per_class.to_string(),
            "--data-seed".to_string(),
            seed.to_string(),
        ],
        DataSource::Imported { file } => bail!(
            "a run on imported weights ({}) has no training data to plan",
            file.display()
        ),
    })
}

/// `trainer scratch --task sine`'s flags for every setting of `config`.
fn sine_flags(config: &SineConfig) -> Vec<String> {
    let t = &config.training;
    let layers: Vec<String> = config.layers.iter().map(usize::to_string).collect();
    let mut flags = words(&["scratch", "--task", "sine"]);
    for (flag, v) in [
        ("--epochs", t.epochs.to_string()),
        ("--lr", t.lr.to_string()),
        ("--momentum", t.momentum.to_string()),
        ("--batch-size", t.batch_size.to_string()),
        ("--activation", t.activation.to_string()),
        ("--layers", layers.join(",")),
        ("--dropout", config.dropout.to_string()),
        ("--sine-points", config.points.to_string()),
        ("--seed", t.seed.to_string()),
    ] {
        flags.extend([flag.to_string(), v]);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_that_need_it_are_quoted() {
        let argv = words(&["trainer", "--data", "my data/train", "--lr", "0.05"]);
        assert_eq!(
            shell_line(&argv),
            "trainer --data 'my data/train' --lr 0.05"
        );
        assert_eq!(shlex::split(&shell_line(&argv)).unwrap(), argv);
    }

    #[test]
    fn settings_without_a_flag_are_refused() {
        let model = ModelConfig::from_name("cnn_res", &ModelOptions::default()).unwrap();
        let data = DataSource::Synthetic {
            per_class: 2,
            seed: 1,
        };
        let mut config = TrainConfig::new(model, data);
        assert!(train_flags(&config).is_ok());
        config.augment = config.augment.with_max_shift(5);
        let error = train_flags(&config).unwrap_err().to_string();
        assert!(error.starts_with("augmentation limits"), "{error}");
    }
}
