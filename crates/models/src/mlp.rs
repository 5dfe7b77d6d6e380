//! The report's fully connected network.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::Activation;

/// A fully connected network from a list of layer sizes.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Sizes from input to output, e.g. `[784, 256, 12]`, or `[1, 16, 32, 1]`
    /// for the sine fit.
    #[config(default = "vec![784, 256, 12]")]
    pub layers: Vec<usize>,
    #[config(default = "Activation::LeakyRelu")]
    pub activation: Activation,
    /// Dropout after each hidden activation; 0 for none.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        let linears = self
            .layers
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Mlp {
            linears,
            dropout: (self.dropout > 0.0).then(|| DropoutConfig::new(self.dropout).init()),
            activation: self.activation,
        }
    }
}

/// Linear layers with an activation (and dropout) between them; the output
/// layer is linear, giving logits for classification or a value for
/// regression.
#[derive(Module, Debug)]
pub struct Mlp {
    linears: Vec<Linear>,
    dropout: Option<Dropout>,
    #[module(skip)]
    activation: Activation,
}

impl Mlp {
    /// `[B, inputs]` to `[B, outputs]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.linears.len() - 1;
        for (i, linear) in self.linears.iter().enumerate() {
            x = linear.forward(x);
            if i < last {
                x = self.activation.forward(x);
                if let Some(dropout) = &self.dropout {
                    x = dropout.forward(x);
                }
            }
        }
        x
    }
}
