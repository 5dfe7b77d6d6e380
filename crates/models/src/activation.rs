use burn::prelude::*;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

/// The hidden-layer non-linearities the report compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Slope 0.01 below zero, as PyTorch's default.
    #[default]
    LeakyRelu,
    Sigmoid,
    Relu,
    Tanh,
}

impl Activation {
    pub const NAMES: &'static str = "leakyrelu, sigmoid, relu, tanh";

    pub fn forward<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::LeakyRelu => activation::leaky_relu(x, 0.01),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "leakyrelu" | "leaky_relu" => Ok(Activation::LeakyRelu),
            "sigmoid" => Ok(Activation::Sigmoid),
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            _ => Err(format!(
                "unknown activation '{s}' (expected {})",
                Self::NAMES
            )),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Activation::LeakyRelu => "leakyrelu",
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        })
    }
}
