//! The layers on Burn's cube backend (every wgpu adapter; CUDA and ROCm
//! alike), as CubeCL kernels: what the CPU kernels in `flex/` do, one
//! launch per layer where Burn's stock operations take a dozen. Burn's
//! fusion runs each of them as one opaque operation (the trait's
//! `#[fusion(...)]` attributes describe their outputs).
//!
//! Inputs the kernels are not written for (other dtypes) take the stock
//! operations, as on flex. Convolutions take Burn's own, autotuned ones
//! (which add the bias themselves; a ReLU after them is one more
//! element-wise operation): a direct convolution kernel of ours (one launch
//! forward, one backward) trained 20 to 30 times slower on Mesa's lavapipe
//! (docs/gpu.md).

mod adam;
mod loss;
mod loss_kernels;
mod norm;
mod norm_kernels;
mod reduce;
#[cfg(test)]
mod tests;

use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, Shape};
use burn_cubecl::CubeBackend;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use crate::{
    Epilogue, FastLayers, JoinGrads, JoinOutput, JoinPrimitive, JoinStats, NormGrads, NormOutput,
    NormPrimitive, StatsPrimitive, stock,
};

impl FastLayers for CubeBackend {
    fn batch_norm_fast(norm: NormPrimitive<Self>, activation: Epilogue) -> NormOutput<Self> {
        if !norm::fits(&[&norm]) {
            return stock::batch_norm::<Self>(norm, activation);
        }
        norm::train(norm, activation)
    }

    fn batch_norm_fast_eval(
        norm: NormPrimitive<Self>,
        stats: StatsPrimitive<Self>,
        activation: Epilogue,
    ) -> FloatTensor<Self> {
        if !norm::fits(&[&norm]) {
            return stock::batch_norm_eval::<Self>(norm, stats, activation);
        }
        norm::eval(norm, stats, activation)
    }

    fn batch_norm_fast_backward(
        norm: NormPrimitive<Self>,
        stats: StatsPrimitive<Self>,
        activation: Epilogue,
        output_grad: FloatTensor<Self>,
    ) -> NormGrads<Self> {
        if !norm::fits(&[&norm]) {
            return stock::batch_norm_backward::<Self>(norm, stats, activation, output_grad);
        }
        norm::backward(norm, stats, activation, output_grad)
    }

    fn batch_norm_join_fast(join: JoinPrimitive<Self>) -> JoinOutput<Self> {
        if !norm::fits(&[&join.input, &join.skip]) {
            return stock::batch_norm_join::<Self>(join);
        }
        norm::join_train(join)
    }

    fn batch_norm_join_fast_eval(
        join: JoinPrimitive<Self>,
        stats: JoinStats<Self>,
    ) -> FloatTensor<Self> {
        if !norm::fits(&[&join.input, &join.skip]) {
            return stock::batch_norm_join_eval::<Self>(join, stats);
        }
        norm::join_eval(join, stats)
    }

    fn batch_norm_join_fast_backward(
        join: JoinPrimitive<Self>,
        stats: JoinStats<Self>,
        output_grad: FloatTensor<Self>,
    ) -> JoinGrads<Self> {
        if !norm::fits(&[&join.input, &join.skip]) {
            return stock::batch_norm_join_backward::<Self>(join, stats, output_grad);
        }
        norm::join_backward(join, stats, output_grad)
    }
}

/// Whether `t` is what the kernels read: f32 values.
fn f32_input(t: &CubeTensor) -> bool {
    t.dtype() == DType::F32
}

/// A new contiguous f32 tensor of `shape` on the device of `like`.
fn empty(like: &CubeTensor, shape: Shape) -> CubeTensor {
    burn_cubecl::ops::numeric::empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        shape,
        DType::F32,
    )
}

/// Cubes and units for a kernel with one unit per value of `len` values.
fn elementwise_count(client: &cubecl::client::Client, len: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new_1d(256);
    (cubecl::calculate_cube_count_elemwise(client, len, dim), dim)
}
