//! Every network of the Hanzi12 study as a Burn module, chosen by name.
//!
//! Initialisation and BatchNorm follow PyTorch, so results compare with the
//! PyTorch reference: Burn's `Linear` and `Conv2d` default to the same
//! Kaiming-uniform (gain 1/sqrt(3)) weights and fan-in uniform biases as
//! PyTorch, and Burn's `BatchNorm` defaults to PyTorch's momentum 0.1 and
//! epsilon 1e-5. These defaults were checked in the Burn 0.22.1 sources and
//! are kept deliberately.

mod activation;
#[cfg(feature = "train")]
mod adam;
mod cnn;
mod cnn_res;
#[cfg_attr(not(feature = "train"), path = "portable.rs")]
pub mod fast;
mod mlp;
#[cfg(feature = "train")]
mod train;

pub use activation::Activation;
#[cfg(feature = "train")]
pub use adam::Adam;
pub use cnn::{Cnn, CnnConfig};
pub use cnn_res::{CnnRes, CnnResConfig};
pub use mlp::{Mlp, MlpConfig};
#[cfg(feature = "train")]
pub use train::Trainee;

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Output classes.
pub const NUM_CLASSES: usize = dataset::NUM_CLASSES;
/// Input pixels of an image.
const PIXELS: usize = dataset::PIXELS;

/// Dropout of the `*_dropout` networks unless the options say otherwise.
pub const DEFAULT_CNN_DROPOUT: f64 = 0.25;

/// The names [`ModelConfig::from_name`] accepts.
pub const MODEL_NAMES: [&str; 6] = [
    "mlp",
    "cnn",
    "cnn_bn",
    "cnn_dropout",
    "cnn_bn_dropout",
    "cnn_res",
];

/// Which network, with its settings: saved as JSON beside each checkpoint
/// and enough to rebuild the network that loads it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "network", rename_all = "snake_case")]
pub enum ModelConfig {
    Mlp(MlpConfig),
    Cnn(CnnConfig),
    CnnRes(CnnResConfig),
}

/// Options that may come with a model name.
#[derive(Clone, Debug, Default)]
pub struct ModelOptions {
    /// Hidden layer sizes of the MLP, e.g. `[256, 128]`.
    pub hidden: Option<Vec<usize>>,
    pub activation: Option<Activation>,
    pub dropout: Option<f64>,
}

/// Why [`ModelConfig::from_name`] refused a name or its options. The
/// messages name the setting, not a command-line flag: a caller that has
/// flags adds its own as context.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model '{0}' (expected one of: {names})", names = MODEL_NAMES.join(", "))]
    UnknownModel(String),
    #[error("dropout probability {0} is outside [0, 1)")]
    BadDropout(f64),
    #[error("hidden layer sizes need at least one layer, each above 0, got {0:?}")]
    BadHidden(Vec<usize>),
    /// `option` is the [`ModelOptions`] field's name.
    #[error("the {option} option applies to the mlp only, not to '{model}'")]
    MlpOnly { option: &'static str, model: String },
}

impl ModelConfig {
    /// The network called `name`, with the options that apply to it.
    pub fn from_name(name: &str, options: &ModelOptions) -> Result<Self, ModelError> {
        if let Some(p) = options.dropout
            && !(0.0..1.0).contains(&p)
        {
            return Err(ModelError::BadDropout(p));
        }
        if name != "mlp" {
            let mlp_only = [
                ("hidden", options.hidden.is_some()),
                ("activation", options.activation.is_some()),
            ];
            if let Some((option, _)) = mlp_only.into_iter().find(|(_, given)| *given) {
                return Err(ModelError::MlpOnly {
                    option,
                    model: name.to_string(),
                });
            }
        }
        let cnn = |batch_norm, default_dropout| {
            ModelConfig::Cnn(CnnConfig {
                batch_norm,
                dropout: options.dropout.unwrap_or(default_dropout),
            })
        };
        Ok(match name {
            "mlp" => {
                let mut config = MlpConfig::new();
                if let Some(hidden) = &options.hidden {
                    if hidden.is_empty() || hidden.contains(&0) {
                        return Err(ModelError::BadHidden(hidden.clone()));
                    }
                    config.layers = [PIXELS]
                        .into_iter()
                        .chain(hidden.iter().copied())
                        .chain([NUM_CLASSES])
                        .collect();
                }
                config.activation = options.activation.unwrap_or_default();
                config.dropout = options.dropout.unwrap_or(0.0);
                ModelConfig::Mlp(config)
            }
            "cnn" => cnn(false, 0.0),
            "cnn_bn" => cnn(true, 0.0),
            "cnn_dropout" => cnn(false, DEFAULT_CNN_DROPOUT),
            "cnn_bn_dropout" => cnn(true, DEFAULT_CNN_DROPOUT),
            "cnn_res" => ModelConfig::CnnRes(CnnResConfig {}),
            other => return Err(ModelError::UnknownModel(other.to_string())),
        })
    }

    /// The options [`ModelConfig::from_name`] takes to build this network
    /// again from its name.
    pub fn options(&self) -> ModelOptions {
        match self {
            ModelConfig::Mlp(mlp) => ModelOptions {
                hidden: Some(mlp.layers[1..mlp.layers.len().saturating_sub(1)].to_vec()),
                activation: Some(mlp.activation),
                dropout: Some(mlp.dropout),
            },
            ModelConfig::Cnn(cnn) => ModelOptions {
                dropout: Some(cnn.dropout),
                ..ModelOptions::default()
            },
            ModelConfig::CnnRes(_) => ModelOptions::default(),
        }
    }

    /// The name of this network, as [`ModelConfig::from_name`] takes it.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Mlp(_) => "mlp",
            ModelConfig::Cnn(c) => match (c.batch_norm, c.dropout > 0.0) {
                (false, false) => "cnn",
                (true, false) => "cnn_bn",
                (false, true) => "cnn_dropout",
                (true, true) => "cnn_bn_dropout",
            },
            ModelConfig::CnnRes(_) => "cnn_res",
        }
    }

    /// One line for help texts and logs.
    pub fn describe(&self) -> String {
        match self {
            ModelConfig::Mlp(c) => format!(
                "mlp {:?}, {}{}",
                c.layers,
                c.activation,
                if c.dropout > 0.0 { format!(", dropout {}", c.dropout) } else { String::new() }
            ),
            ModelConfig::Cnn(c) => format!(
                "{}: conv3x3 1→32{bn}, ReLU{d}, conv3x3 32→64{bn}, ReLU, avg-pool 4, linear 3136→128{d}, ReLU, linear 12",
                self.name(),
                bn = if c.batch_norm { ", BN" } else { "" },
                d = if c.dropout > 0.0 { format!(", dropout {}", c.dropout) } else { String::new() }
            ),
            ModelConfig::CnnRes(_) => "cnn_res: conv3x3 1→32, BN, ReLU, conv3x3 32→64, BN, + shortcut conv1x1 1→64 with BN, ReLU, avg-pool 4, linear 3136→128, ReLU, linear 12".to_string(),
        }
    }

    pub fn init(&self, device: &Device) -> Network {
        match self {
            ModelConfig::Mlp(c) => Network::Mlp(c.init(device)),
            ModelConfig::Cnn(c) => Network::Cnn(c.init(device)),
            ModelConfig::CnnRes(c) => Network::CnnRes(c.init(device)),
        }
    }
}

/// Any of the study's networks.
// One network lives per run, so the size of the largest variant costs nothing;
// boxing it would only complicate Burn's module derive.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    Mlp(Mlp),
    Cnn(Cnn),
    CnnRes(CnnRes),
}

/// Counts trainable values, skipping BatchNorm's running statistics: Burn's
/// `num_params` includes those buffers, PyTorch's parameter count does not.
#[derive(Default)]
struct TrainableCount {
    path: Vec<String>,
    count: usize,
}

impl ModuleVisitor for TrainableCount {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let buffer = self
            .path
            .last()
            .is_some_and(|name| name.starts_with("running_"));
        if !buffer {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

impl Network {
    /// Trainable parameters, counted as PyTorch does (no BatchNorm buffers).
    pub fn num_trainable_params(&self) -> usize {
        let mut counter = TrainableCount::default();
        self.visit(&mut counter);
        counter.count
    }

    /// `[B, 1, 28, 28]` images to `[B, 12]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Network::Mlp(m) => m.forward(images.flatten(1, 3)),
            Network::Cnn(m) => m.forward(images),
            Network::CnnRes(m) => m.forward(images),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_is_built_again_from_its_name_and_options() {
        let mlp = ModelOptions {
            hidden: Some(vec![64, 32]),
            activation: Some(Activation::Tanh),
            dropout: Some(0.1),
        };
        for (name, options) in MODEL_NAMES
            .iter()
            .map(|&name| (name, ModelOptions::default()))
            .chain([("mlp", mlp)])
        {
            let model = ModelConfig::from_name(name, &options).unwrap();
            let again = ModelConfig::from_name(model.name(), &model.options()).unwrap();
            let json = |m: &ModelConfig| serde_json::to_value(m).unwrap();
            assert_eq!(json(&again), json(&model), "{name}");
        }
    }
}
