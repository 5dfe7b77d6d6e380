//! The kernels, on flex's f32 storage: the trait's `Flex` implementation
//! dispatches each method to its layer's file, which falls back to Burn's
//! stock operations for inputs it is not written for (other dtypes).
//!
//! Work is split across rayon's pool (the one flex uses) by image for the
//! convolution and by channel or plane for BatchNorm; sums over a plane run in
//! eight f32 lanes (vectorised by the compiler) and add up across planes in
//! f64, so a channel of 50,000 values keeps its precision. The loops that
//! are arithmetic rather than copies run compiled for the CPU's widest
//! vector unit (`simd.rs`), with the same results on every unit.

mod adam;
mod conv;
mod elementwise;
mod lanes;
mod norm;
mod parallel;
mod pool;
pub(crate) mod simd;
mod storage;

use burn::backend::flex::{Flex, FlexTensor};

use crate::{
    ConvGrads, ConvParamGrads, ConvPrimitive, Epilogue, FastLayers, JoinGrads, JoinOutput,
    JoinPrimitive, JoinStats, NormGrads, NormOutput, NormPrimitive, StatsPrimitive,
};

impl FastLayers for Flex {
    fn conv2d_fast(
        conv: ConvPrimitive<Self>,
        bias: FlexTensor,
        activation: Epilogue,
    ) -> FlexTensor {
        conv::forward(conv, bias, activation)
    }

    fn conv2d_fast_x_grad(conv: ConvPrimitive<Self>, output_grad: FlexTensor) -> FlexTensor {
        conv::x_grad(conv, output_grad)
    }

    fn conv2d_fast_param_grads(
        conv: ConvPrimitive<Self>,
        output_grad: FlexTensor,
    ) -> ConvParamGrads<Self> {
        conv::param_grads(conv, output_grad)
    }

    fn conv2d_fast_grads(conv: ConvPrimitive<Self>, output_grad: FlexTensor) -> ConvGrads<Self> {
        conv::grads(conv, output_grad)
    }

    fn batch_norm_fast(norm: NormPrimitive<Self>, activation: Epilogue) -> NormOutput<Self> {
        norm::train(norm, activation)
    }

    fn batch_norm_fast_eval(
        norm: NormPrimitive<Self>,
        stats: StatsPrimitive<Self>,
        activation: Epilogue,
    ) -> FlexTensor {
        norm::eval(norm, stats, activation)
    }

    fn batch_norm_fast_backward(
        norm: NormPrimitive<Self>,
        stats: StatsPrimitive<Self>,
        activation: Epilogue,
        output_grad: FlexTensor,
    ) -> NormGrads<Self> {
        norm::backward(norm, stats, activation, output_grad)
    }

    fn batch_norm_join_fast(join: JoinPrimitive<Self>) -> JoinOutput<Self> {
        norm::join_train(join)
    }

    fn batch_norm_join_fast_eval(join: JoinPrimitive<Self>, stats: JoinStats<Self>) -> FlexTensor {
        norm::join_eval(join, stats)
    }

    fn batch_norm_join_fast_backward(
        join: JoinPrimitive<Self>,
        stats: JoinStats<Self>,
        output_grad: FlexTensor,
    ) -> JoinGrads<Self> {
        norm::join_backward(join, stats, output_grad)
    }

    fn add_relu_fast(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        elementwise::add_relu(a, b)
    }

    fn avg_pool2d_tiled(x: FlexTensor, kernel: [usize; 2]) -> FlexTensor {
        pool::forward(x, kernel)
    }

    fn avg_pool2d_tiled_backward(
        x: FlexTensor,
        output_grad: FlexTensor,
        kernel: [usize; 2],
    ) -> FlexTensor {
        pool::backward(x, output_grad, kernel)
    }
}
