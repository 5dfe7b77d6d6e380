//! The layer forwards of `fast.rs`, through Burn's own layers: what a build
//! without the `train` feature (and so without the `kernels` crate and its
//! x86 code), such as the WebAssembly reader, runs. Same functions, same
//! results within float rounding; checkpoints are the same modules either way.

use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::prelude::*;
use burn::tensor::activation::relu;

/// `Conv2d::forward`.
pub fn conv(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    layer.forward(x)
}

/// `relu(Conv2d::forward(x))`.
pub fn conv_relu(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    relu(layer.forward(x))
}

/// `BatchNorm::forward`.
pub fn norm<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    layer.forward(x)
}

/// `relu(norm(layer, x))`.
pub fn norm_relu<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    relu(layer.forward(x))
}

/// `relu(norm(layer, x) + norm(skip_layer, skip))`, a residual block's join.
pub fn norm_join<const D: usize>(
    layer: &BatchNorm,
    x: Tensor<D>,
    skip_layer: &BatchNorm,
    skip: Tensor<D>,
) -> Tensor<D> {
    relu(layer.forward(x) + skip_layer.forward(skip))
}

/// `AvgPool2d::forward`.
pub fn avg_pool(layer: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    layer.forward(x)
}
