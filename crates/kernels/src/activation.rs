//! The activation a layer applies in its own pass.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// What follows a convolution or a BatchNorm in the same pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
}

impl Activation {
    /// The activation as Burn's own operation (for devices without the kernels).
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
        }
    }
}
