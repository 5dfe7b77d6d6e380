//! `relu(a + b)`, the join of a residual block without BatchNorm.

use burn::backend::Dispatch;
use burn::tensor::Tensor;

use crate::{FastLayers, accelerated};

/// `relu(a + b)` in one pass.
pub fn add_relu<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if !accelerated(&a.device(), a.dtype()) || a.dims() != b.dims() {
        return burn::tensor::activation::relu(a + b);
    }
    Tensor::from_dispatch(Dispatch::add_relu_fast(
        a.into_dispatch(),
        b.into_dispatch(),
    ))
}
