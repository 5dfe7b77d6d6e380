//! Flags several subcommands take, each declared once and flattened where
//! it is used.

use anyhow::{Context, Result, bail};
use clap::Args;
use dataset::{Centre, Hanzi12, NormaliseConfig, PixelConvention};
use models::{ModelConfig, ModelError, ModelOptions};
use std::path::PathBuf;

use crate::backend::Backend;
use crate::data::DataSource;
use crate::infer::Views;
use crate::recipe::DEFAULT_MODEL;
use crate::run_dir::{ARTIFACTS, RunDir};

/// `--backend`.
#[derive(Args, Debug, Clone, Copy)]
pub struct BackendArg {
    #[arg(long, default_value_t = Backend::Flex, help = Backend::help())]
    pub backend: Backend,
}

/// `--checkpoint RUN`, a run folder written by training (or `import`).
#[derive(Args, Debug, Clone, Default)]
pub struct CheckpointArg {
    /// Run folder written by training [default: the newest run under artifacts/]; predict and eval take several for an ensemble (probabilities averaged).
    #[arg(long = "checkpoint", value_name = "RUN")]
    pub runs: Vec<PathBuf>,
}

impl CheckpointArg {
    /// The runs named, or the newest run under `artifacts/`.
    pub fn runs(&self) -> Result<Vec<PathBuf>> {
        match self.runs.is_empty() {
            true => Ok(vec![
                RunDir::newest(ARTIFACTS.as_ref())?.path().to_path_buf(),
            ]),
            false => Ok(self.runs.clone()),
        }
    }

    /// The one run named (or the newest), for commands that take one.
    pub fn one(&self) -> Result<PathBuf> {
        match self.runs.as_slice() {
            [_, _, ..] => bail!(
                "--checkpoint given {} times: this command takes one run",
                self.runs.len()
            ),
            _ => Ok(self.runs()?.remove(0)),
        }
    }
}

/// `--data`: the same flag, with the same default, in every command.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Class-folder root <DIR>/<k>/<n>.bmp [default: data/train if present, else built-in synthetic handwriting].
    #[arg(long = "data", value_name = "DIR")]
    pub path: Option<PathBuf>,
}

impl DataArgs {
    /// Where the images come from: `--data`, else `data/train`, else
    /// `synthetic_per_class` synthetic images per class drawn with `seed`.
    pub fn source(&self, seed: u64, synthetic_per_class: usize) -> DataSource {
        DataSource::resolve(self.path.as_deref(), seed, synthetic_per_class)
    }

    /// The images of [`source`](Self::source), in memory.
    pub fn load(&self, seed: u64, synthetic_per_class: usize) -> Result<Hanzi12> {
        self.source(seed, synthetic_per_class)
            .load()
            .context("--data")
    }

    /// Real images only (`--data`, else `data/train`), if there are any.
    pub fn load_real(&self) -> Result<Option<Hanzi12>> {
        DataSource::real(self.path.as_deref())
            .map(|source| source.load().context("--data"))
            .transpose()
    }
}

/// `--model` and the options that may come with it; training and `import`
/// take the same ones.
#[derive(Args, Debug, Clone, Default)]
pub struct ModelArgs {
    #[arg(long, help = format!("Network: {} [default: {DEFAULT_MODEL}]", models::MODEL_NAMES.join(", ")))]
    pub model: Option<String>,
    /// MLP hidden layer sizes, e.g. 256,128 (default 256).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub hidden: Option<Vec<usize>>,
    /// MLP activation: leakyrelu (default), sigmoid, relu, tanh.
    #[arg(long)]
    pub activation: Option<models::Activation>,
    /// Dropout probability (mlp: default 0; *_dropout models: default 0.25); for import, the one the network was trained with (it moves the MLP's layer numbers).
    #[arg(long)]
    pub dropout: Option<f64>,
}

impl ModelArgs {
    /// The network these flags name (`--model` else the default network).
    pub fn config(&self) -> Result<ModelConfig> {
        let name = self.model.as_deref().unwrap_or(DEFAULT_MODEL);
        self.build(name, ModelOptions::default())
    }

    /// `base` with what these flags change: the same network keeps its
    /// options where no flag is given; another network takes only the flags'.
    pub fn config_over(&self, base: &ModelConfig) -> Result<ModelConfig> {
        let name = self.model.as_deref().unwrap_or(base.name());
        let given = self.model.is_some()
            || self.hidden.is_some()
            || self.activation.is_some()
            || self.dropout.is_some();
        match (given, name == base.name()) {
            (false, _) => Ok(base.clone()),
            (true, true) => self.build(name, base.options()),
            (true, false) => self.build(name, ModelOptions::default()),
        }
    }

    /// The network `name` with the flags' options over `options`, with the
    /// flag that is wrong named in an error (the `models` crate knows no flags).
    fn build(&self, name: &str, options: ModelOptions) -> Result<ModelConfig> {
        let options = ModelOptions {
            hidden: self.hidden.clone().or(options.hidden),
            activation: self.activation.or(options.activation),
            dropout: self.dropout.or(options.dropout),
        };
        ModelConfig::from_name(name, &options).map_err(|e| {
            let flag = match &e {
                ModelError::UnknownModel(_) => format!("--model {name}"),
                ModelError::BadDropout(_) => "--dropout".to_string(),
                ModelError::BadHidden(_) => "--hidden".to_string(),
                ModelError::MlpOnly { option, .. } => format!("--{option}"),
            };
            anyhow::anyhow!("{flag}: {e}")
        })
    }
}

/// `--normalise`: how every image's ink is cropped, scaled and centred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NormaliseArg {
    Mass,
    Box,
    None,
}

impl NormaliseArg {
    pub fn config(self) -> Option<NormaliseConfig> {
        let centre = match self {
            NormaliseArg::Mass => Centre::Mass,
            NormaliseArg::Box => Centre::Box,
            NormaliseArg::None => return None,
        };
        Some(NormaliseConfig {
            centre,
            ..NormaliseConfig::default()
        })
    }
}

/// `--convention`: ink = 1, or white = 1 as in the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConventionArg {
    Ink,
    Raw,
}

impl ConventionArg {
    pub fn convention(self) -> PixelConvention {
        match self {
            ConventionArg::Ink => PixelConvention::Ink,
            ConventionArg::Raw => PixelConvention::Raw,
        }
    }
}

/// `--tta`: test-time shifts, for commands that run a network on images.
#[derive(Args, Debug, Clone, Copy)]
pub struct TtaArg {
    /// Also average over each image shifted one pixel up, down, left and right (test-time augmentation).
    #[arg(long)]
    pub tta: bool,
}

impl TtaArg {
    /// The views of each image the networks answer for.
    pub fn views(self) -> Views {
        if self.tta { Views::Shifts } else { Views::One }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(argv: &[&str]) -> ModelArgs {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            model: ModelArgs,
        }
        let argv = ["trainer"].iter().chain(argv);
        <Flags as clap::Parser>::try_parse_from(argv).unwrap().model
    }

    #[test]
    fn model_errors_name_the_flag() {
        let error = |argv: &[&str]| model(argv).config().unwrap_err().to_string();
        assert!(error(&["--model", "cnn", "--dropout", "1.5"]).starts_with("--dropout: "));
        assert!(error(&["--model", "resnet"]).starts_with("--model resnet: "));
        assert!(
            error(&["--model", "cnn", "--activation", "sigmoid"]).starts_with("--activation: ")
        );
    }

    #[test]
    fn model_flags_change_the_base_network_or_name_another() {
        let base = model(&["--model", "mlp", "--hidden", "64,32", "--dropout", "0.2"])
            .config()
            .unwrap();
        let over = |argv: &[&str]| model(argv).config_over(&base).unwrap().describe();
        assert_eq!(over(&[]), base.describe());
        assert_eq!(
            over(&["--dropout", "0.5"]),
            "mlp [784, 64, 32, 12], leakyrelu, dropout 0.5"
        );
        assert_eq!(
            over(&["--model", "cnn_res"]),
            model(&[]).config().unwrap().describe()
        );
    }

    #[test]
    fn a_command_that_takes_one_run_refuses_several() {
        let arg = CheckpointArg {
            runs: vec!["a".into(), "b".into()],
        };
        assert!(
            arg.one()
                .unwrap_err()
                .to_string()
                .starts_with("--checkpoint given 2 times")
        );
        let arg = CheckpointArg {
            runs: vec!["a".into()],
        };
        assert_eq!(arg.one().unwrap(), PathBuf::from("a"));
    }
}
