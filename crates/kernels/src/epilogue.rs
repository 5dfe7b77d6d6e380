//! What a convolution or a BatchNorm applies to its output in the same
//! pass (a fused epilogue): nothing, or a ReLU.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// What follows a convolution or a BatchNorm in the same pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    Identity,
    Relu,
}

impl Epilogue {
    /// The activation as Burn's own operation (for devices without the kernels).
    pub(crate) fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Epilogue::Identity => x,
            Epilogue::Relu => relu(x),
        }
    }
}
