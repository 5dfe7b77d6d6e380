//! Faster training layers for Burn's `flex` CPU backend.
//!
//! Profiling `cnn_res` (`trainer bench --layers`) showed two places where
//! Burn 0.22's CPU path, not arithmetic, sets the pace:
//!
//! - A convolution's weight gradient is computed as another convolution whose
//!   kernel is the whole 28x28 output gradient, behind transposing copies; a
//!   1x1 shortcut spent 11 ms in its backward against 0.8 ms forward.
//! - BatchNorm in training mode and its backward are chains of ten or more
//!   whole-tensor operations (with `swap_dims` copies), where two passes over
//!   the data suffice.
//!
//! This crate adds both as a Burn backend extension ([`FastLayers`]): the
//! convolution (forward, input and weight gradients) as im2col + one matrix
//! product per image (with a following ReLU in the same pass, if asked),
//! BatchNorm as two fused passes forward and two backward, and, while at it,
//! BatchNorm + ReLU and a residual block's join
//! `relu(BN(x) + BN'(skip))` in the same passes, `relu(a + b)`,
//! and non-overlapping average pooling; each layer with its own `Autodiff`
//! backward. Adam's update of a list of tensors, one pass over each tensor
//! on the CPU, is the third trait, [`FastAdam`] (`adam/`).
//!
//! One file per layer holds its public function, which takes Burn tensors
//! and picks the kernel on the flex device (f32, ungrouped convolutions) or
//! Burn's stock operations everywhere else, so callers need not care which
//! device they run on: [`conv2d`] and [`conv2d_relu`]; [`batch_norm_train`],
//! [`batch_norm_relu_train`], [`batch_norm_join_train`] and their `_eval`
//! counterparts; [`add_relu`]; [`avg_pool2d_tiled`]; [`adam_steps`]. The
//! trait below is the dispatcher; `flex/` has one kernel file per layer,
//! `autodiff/` the backward passes, `stock.rs` the trait's default bodies.
//! The tests check values and gradients against the stock operations.
//!
//! The GPU half is `cube/`: CubeCL kernels for Burn's cube backend (every
//! wgpu adapter), one launch per layer where stock Burn takes a dozen —
//! BatchNorm, with its ReLU and the residual join, forward and backward
//! (convolutions stay Burn's own, autotuned ones), the loss with its
//! accuracy count ([`FastLoss`]), and the Adam update of every parameter
//! tensor in one launch ([`FastAdam`], behind [`adam_steps`]). Three traits,
//! one per kind of work: [`FastLayers`] (below), [`FastLoss`],
//! [`FastAdam`]. [`prepare_gpu_runtime`] and [`wgpu_device`] set up the GPU
//! they run on; [`launches`] counts the kernels a step launches.

mod adam;
mod adapter;
mod autodiff;
#[cfg(test)]
mod checks;
mod conv;
mod cube;
mod elementwise;
mod epilogue;
mod flex;
pub mod launches;
mod loss;
mod norm;
mod packing;
mod pool;
mod runtime;
mod stock;
pub mod subnormal;
mod threads;

pub use adam::{AdamState, AdamStep, AdamUpdate, FastAdam, adam_steps};
pub use adapter::wgpu_device;
pub use conv::{ConvGrads, ConvParamGrads, ConvPrimitive, conv2d, conv2d_relu};
pub use elementwise::add_relu;
pub use epilogue::Epilogue;
pub use loss::{FastLoss, LossOutput, cross_entropy};
pub use norm::{
    JoinGrads, JoinOutput, JoinPrimitive, JoinStats, NormGrads, NormInput, NormOutput,
    NormPrimitive, NormStats, StatsPrimitive, batch_norm_eval, batch_norm_join_eval,
    batch_norm_join_train, batch_norm_relu_eval, batch_norm_relu_train, batch_norm_train,
};
pub use packing::pack_wide_blocks_only;
pub use pool::avg_pool2d_tiled;
pub use runtime::prepare_gpu_runtime;
pub use threads::{on_compute_thread, on_pool_thread};

use burn::backend::{Backend, DispatchDevice, backend_extension, tensor::FloatTensor};
use burn::tensor::{DType, Device};

/// Training-time layers with a faster CPU implementation.
///
/// The default bodies are Burn's stock operations; `Flex` overrides them with
/// the hand-written kernels and `Autodiff` with backward passes that call them.
/// "Eval" is BatchNorm with given statistics (the running averages in
/// evaluation mode, or the batch's own in a backward pass).
#[backend_extension(Flex, Cube, Fusion, Autodiff)]
pub trait FastLayers: Backend {
    /// `activation(conv2d(x))`; `bias` has one value per output channel.
    #[fusion(meta = conv::output_spec)]
    fn conv2d_fast(
        #[extension_type] conv: ConvPrimitive<Self>,
        bias: FloatTensor<Self>,
        activation: Epilogue,
    ) -> FloatTensor<Self> {
        stock::conv2d::<Self>(conv, bias, activation)
    }

    /// The gradient of a convolution's input, given the gradient of its output.
    #[fusion(meta = |conv, _grad| conv.x.clone())]
    fn conv2d_fast_x_grad(
        #[extension_type] conv: ConvPrimitive<Self>,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        stock::conv2d_x_grad::<Self>(conv, output_grad)
    }

    /// The gradients of a convolution's weight and bias.
    #[fusion(meta = conv::param_grads_spec)]
    fn conv2d_fast_param_grads(
        #[extension_type] conv: ConvPrimitive<Self>,
        output_grad: FloatTensor<Self>,
    ) -> ConvParamGrads<Self> {
        stock::conv2d_param_grads::<Self>(conv, output_grad)
    }

    /// All three gradients of a convolution (input, weight, bias) at once.
    #[fusion(meta = conv::grads_spec)]
    fn conv2d_fast_grads(
        #[extension_type] conv: ConvPrimitive<Self>,
        output_grad: FloatTensor<Self>,
    ) -> ConvGrads<Self> {
        stock::conv2d_grads::<Self>(conv, output_grad)
    }

    /// `activation(BatchNorm(x))` over the batch and spatial dimensions: the
    /// output and the batch's mean and (biased) variance per channel.
    #[fusion(meta = norm::output_spec)]
    fn batch_norm_fast(
        #[extension_type] norm: NormPrimitive<Self>,
        activation: Epilogue,
    ) -> NormOutput<Self> {
        stock::batch_norm::<Self>(norm, activation)
    }

    /// `activation(BatchNorm(x))` with given statistics.
    #[fusion(meta = |norm, _stats, _activation| norm.x.clone())]
    fn batch_norm_fast_eval(
        #[extension_type] norm: NormPrimitive<Self>,
        #[extension_type] stats: StatsPrimitive<Self>,
        activation: Epilogue,
    ) -> FloatTensor<Self> {
        stock::batch_norm_eval::<Self>(norm, stats, activation)
    }

    /// The gradients of [`batch_norm_fast`](FastLayers::batch_norm_fast)
    /// with respect to its input, `gamma` and `beta`, given the batch
    /// statistics it returned.
    #[fusion(meta = |n, _stats, _activation, _grad| norm::grads_spec(n))]
    fn batch_norm_fast_backward(
        #[extension_type] norm: NormPrimitive<Self>,
        #[extension_type] stats: StatsPrimitive<Self>,
        activation: Epilogue,
        output_grad: FloatTensor<Self>,
    ) -> NormGrads<Self> {
        stock::batch_norm_backward::<Self>(norm, stats, activation, output_grad)
    }

    /// A residual block's join, `relu(BatchNorm(x) + BatchNorm'(skip))`,
    /// with batch statistics: the output and the statistics of both.
    #[fusion(meta = norm::join_output_spec)]
    fn batch_norm_join_fast(#[extension_type] join: JoinPrimitive<Self>) -> JoinOutput<Self> {
        stock::batch_norm_join::<Self>(join)
    }

    /// A residual block's join with given statistics.
    #[fusion(meta = |join, _stats| join.input.x.clone())]
    fn batch_norm_join_fast_eval(
        #[extension_type] join: JoinPrimitive<Self>,
        #[extension_type] stats: JoinStats<Self>,
    ) -> FloatTensor<Self> {
        stock::batch_norm_join_eval::<Self>(join, stats)
    }

    /// The gradients of
    /// [`batch_norm_join_fast`](FastLayers::batch_norm_join_fast) with
    /// respect to both inputs and their `gamma` and `beta`.
    #[fusion(meta = norm::join_grads_spec)]
    fn batch_norm_join_fast_backward(
        #[extension_type] join: JoinPrimitive<Self>,
        #[extension_type] stats: JoinStats<Self>,
        output_grad: FloatTensor<Self>,
    ) -> JoinGrads<Self> {
        stock::batch_norm_join_backward::<Self>(join, stats, output_grad)
    }

    /// `relu(a + b)`: a residual block's join.
    #[fusion(default)]
    fn add_relu_fast(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        stock::add_relu::<Self>(a, b)
    }

    /// Average pooling over non-overlapping `kernel` windows that tile the
    /// input exactly (stride = kernel, no padding).
    #[fusion(default)]
    fn avg_pool2d_tiled(x: FloatTensor<Self>, kernel: [usize; 2]) -> FloatTensor<Self> {
        stock::avg_pool2d_tiled::<Self>(x, kernel)
    }

    /// The gradient of [`avg_pool2d_tiled`](FastLayers::avg_pool2d_tiled)'s
    /// input: each window's output gradient shared evenly over the window.
    #[fusion(default)]
    fn avg_pool2d_tiled_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        stock::avg_pool2d_tiled_backward::<Self>(x, output_grad, kernel)
    }
}

/// Whether a tensor on `device` of `dtype` runs on a backend these kernels
/// are written for: flex, or a cube device (a GPU).
fn accelerated(device: &Device, dtype: DType) -> bool {
    dtype == DType::F32 && (device.clone().inner() == Device::flex() || cube_device(device))
}

/// Whether `device` is one of Burn's cube (CubeCL: wgpu, CUDA, ...) devices.
pub fn cube_device(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Cube(_)
    )
}

#[cfg(test)]
mod tests;
