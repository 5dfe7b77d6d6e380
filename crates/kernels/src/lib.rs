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
//! product per image, BatchNorm as two fused passes forward and two backward,
//! and, while at it, BatchNorm + ReLU and a residual block's join
//! `relu(BN(x) + BN'(skip))` in the same passes, `relu(a + b)`,
//! non-overlapping average pooling, and Adam's update in one pass; each layer
//! with its own `Autodiff` backward. The functions below ([`conv2d`],
//! [`batch_norm_train`], [`batch_norm_relu_train`], [`batch_norm_join_train`],
//! their `_eval` counterparts, [`add_relu`], [`avg_pool2d_tiled`],
//! [`adam_step`])
//! use them on the flex device (f32, ungrouped convolutions) and Burn's stock
//! operations everywhere else, so callers need not care which device they
//! run on. The tests check values and gradients against the stock
//! operations.

mod autodiff;
mod flex;
mod stock;
pub mod subnormal;

use burn::backend::{
    Backend, Dispatch, DispatchTensor, backend_extension, ops::ConvOptions, tensor::FloatTensor,
};
use burn::tensor::{DType, Device, Tensor};

/// Training-time layers with a faster CPU implementation.
///
/// The default bodies are Burn's stock operations; `Flex` overrides them with
/// the hand-written kernels and `Autodiff` with backward passes that call them.
#[backend_extension(Flex, Autodiff)]
pub trait FastLayers: Backend {
    /// A 2-D convolution; `bias` has one value per output channel.
    fn conv2d_fast(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, Some(bias), options)
    }

    /// The gradient of a convolution's input, given its weight and the
    /// gradient of its output.
    fn conv2d_fast_x_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// The gradients of a convolution's weight and bias, given its input and
    /// the gradient of its output.
    fn conv2d_fast_param_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        stock::conv2d_param_grads::<Self>(x, weight, output_grad, options)
    }

    /// All three gradients of a convolution (input, weight, bias) at once.
    fn conv2d_fast_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::conv2d_grads::<Self>(x, weight, output_grad, options)
    }

    /// BatchNorm over the batch and spatial dimensions: the normalised output
    /// and the batch's mean and (biased) variance per channel.
    fn batch_norm_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::batch_norm::<Self>(x, gamma, beta, epsilon)
    }

    /// BatchNorm with given statistics (evaluation mode).
    fn batch_norm_fast_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        Self::batch_norm(x, gamma, beta, mean, variance, epsilon)
    }

    /// `relu(BatchNorm(x))` with given statistics (evaluation mode).
    fn batch_norm_relu_fast_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        stock::batch_norm_relu_eval::<Self>((x, gamma, beta, epsilon), (mean, variance))
    }

    /// A residual block's join, `relu(BatchNorm(x) + BatchNorm'(skip))`, with
    /// given statistics (evaluation mode).
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_join_fast_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        skip: FloatTensor<Self>,
        skip_gamma: FloatTensor<Self>,
        skip_beta: FloatTensor<Self>,
        skip_mean: FloatTensor<Self>,
        skip_variance: FloatTensor<Self>,
        skip_epsilon: f64,
    ) -> FloatTensor<Self> {
        stock::batch_norm_join_eval::<Self>(
            ((x, gamma, beta, epsilon), (mean, variance)),
            (
                (skip, skip_gamma, skip_beta, skip_epsilon),
                (skip_mean, skip_variance),
            ),
        )
    }

    /// `relu(BatchNorm(x))` with batch statistics: the output and the batch's
    /// mean and variance, as [`batch_norm_fast`](FastLayers::batch_norm_fast).
    fn batch_norm_relu_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::batch_norm_relu::<Self>(x, gamma, beta, epsilon)
    }

    /// A residual block's join, `relu(BatchNorm(x) + BatchNorm'(skip))`, with
    /// batch statistics: the output and the means and variances of `x` and
    /// `skip`.
    #[allow(clippy::type_complexity)]
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_join_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        skip: FloatTensor<Self>,
        skip_gamma: FloatTensor<Self>,
        skip_beta: FloatTensor<Self>,
        skip_epsilon: f64,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        stock::batch_norm_join::<Self>(
            (x, gamma, beta, epsilon),
            (skip, skip_gamma, skip_beta, skip_epsilon),
        )
    }

    /// `relu(a + b)`: a residual block's join.
    fn add_relu_fast(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        stock::add_relu::<Self>(a, b)
    }

    /// Average pooling over non-overlapping `kernel` windows that tile the
    /// input exactly (stride = kernel, no padding).
    fn avg_pool2d_tiled(x: FloatTensor<Self>, kernel: [usize; 2]) -> FloatTensor<Self> {
        stock::avg_pool2d_tiled::<Self>(x, kernel)
    }

    /// The gradient of [`avg_pool2d_tiled`](FastLayers::avg_pool2d_tiled)'s
    /// input: each window's output gradient shared evenly over the window.
    fn avg_pool2d_tiled_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        stock::avg_pool2d_tiled_backward::<Self>(x, output_grad, kernel)
    }

    /// The gradients of [`batch_norm_fast`](FastLayers::batch_norm_fast) with
    /// respect to its input, `gamma` and `beta`.
    fn batch_norm_fast_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::batch_norm_backward::<Self>(x, gamma, mean, variance, epsilon, output_grad)
    }

    /// The gradients of
    /// [`batch_norm_relu_fast`](FastLayers::batch_norm_relu_fast) with
    /// respect to its input, `gamma` and `beta`.
    fn batch_norm_relu_fast_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::batch_norm_relu_backward::<Self>(
            (x, gamma, beta, epsilon),
            (mean, variance),
            output_grad,
        )
    }

    /// The gradients of
    /// [`batch_norm_join_fast`](FastLayers::batch_norm_join_fast) with
    /// respect to `x`, `gamma`, `beta`, `skip`, `skip_gamma` and `skip_beta`.
    #[allow(clippy::type_complexity)]
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_join_fast_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        skip: FloatTensor<Self>,
        skip_gamma: FloatTensor<Self>,
        skip_beta: FloatTensor<Self>,
        skip_mean: FloatTensor<Self>,
        skip_variance: FloatTensor<Self>,
        skip_epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        stock::batch_norm_join_backward::<Self>(
            ((x, gamma, beta, epsilon), (mean, variance)),
            (
                (skip, skip_gamma, skip_beta, skip_epsilon),
                (skip_mean, skip_variance),
            ),
            output_grad,
        )
    }

    /// One Adam update of one parameter tensor, as Burn's `Adam` computes
    /// it: the new parameter and first and second moments.
    fn adam_step_fast(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        stock::adam_step::<Self>(param, grad, moment_1, moment_2, step)
    }
}

/// Whether `x` runs on the backend these kernels are written for.
fn accelerated(device: &Device, dtype: DType) -> bool {
    dtype == DType::F32 && device.clone().inner() == Device::flex()
}

/// A 2-D convolution, as `burn::tensor::module::conv2d`.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    if !accelerated(&x.device(), x.dtype()) || options.groups != 1 {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    }
    // A missing bias is a constant zero: it costs one add and takes no gradient.
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[0]], &x.device()));
    Tensor::from_dispatch(Dispatch::conv2d_fast(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        options,
    ))
}

/// A BatchNorm layer's input and parameters, for the training-mode
/// functions below.
pub struct NormInput<const D: usize> {
    pub x: Tensor<D>,
    pub gamma: Tensor<1>,
    pub beta: Tensor<1>,
    pub epsilon: f64,
}

/// A batch's mean and (biased) variance per channel: what feeds a
/// BatchNorm's running averages.
pub struct BatchStats {
    pub mean: Tensor<1>,
    pub variance: Tensor<1>,
}

impl BatchStats {
    fn from_dispatch(mean: DispatchTensor, variance: DispatchTensor) -> Self {
        BatchStats {
            mean: Tensor::from_dispatch(mean),
            variance: Tensor::from_dispatch(variance),
        }
    }
}

impl<const D: usize> NormInput<D> {
    fn accelerated(&self) -> bool {
        accelerated(&self.x.device(), self.x.dtype())
    }

    /// Burn's own training-mode BatchNorm.
    fn stock(self) -> (Tensor<D>, BatchStats) {
        let r = burn::tensor::module::batch_norm_train(self.x, self.gamma, self.beta, self.epsilon);
        let stats = BatchStats {
            mean: r.mean,
            variance: r.variance,
        };
        (r.output, stats)
    }

    fn into_dispatch(self) -> (DispatchTensor, DispatchTensor, DispatchTensor, f64) {
        (
            self.x.into_dispatch(),
            self.gamma.into_dispatch(),
            self.beta.into_dispatch(),
            self.epsilon,
        )
    }
}

/// BatchNorm in training mode, as `burn::tensor::module::batch_norm_train`:
/// the output and the batch statistics.
pub fn batch_norm_train<const D: usize>(input: NormInput<D>) -> (Tensor<D>, BatchStats) {
    if !input.accelerated() {
        return input.stock();
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (output, mean, variance) = Dispatch::batch_norm_fast(x, gamma, beta, epsilon);
    (
        Tensor::from_dispatch(output),
        BatchStats::from_dispatch(mean, variance),
    )
}

/// `relu(BatchNorm(x))` in training mode, in one pass over the data.
pub fn batch_norm_relu_train<const D: usize>(input: NormInput<D>) -> (Tensor<D>, BatchStats) {
    if !input.accelerated() {
        let (output, stats) = input.stock();
        return (burn::tensor::activation::relu(output), stats);
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (output, mean, variance) = Dispatch::batch_norm_relu_fast(x, gamma, beta, epsilon);
    (
        Tensor::from_dispatch(output),
        BatchStats::from_dispatch(mean, variance),
    )
}

/// A residual block's join in training mode, `relu(BatchNorm(x) +
/// BatchNorm'(skip))`, in one pass over the data: the output and the
/// statistics of `x` and of `skip`.
pub fn batch_norm_join_train<const D: usize>(
    input: NormInput<D>,
    skip: NormInput<D>,
) -> (Tensor<D>, [BatchStats; 2]) {
    let fused = input.accelerated() && skip.accelerated() && input.x.dims() == skip.x.dims();
    if !fused {
        let ((output, stats), (skip_output, skip_stats)) = (input.stock(), skip.stock());
        return (add_relu(output, skip_output), [stats, skip_stats]);
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (skip, skip_gamma, skip_beta, skip_epsilon) = skip.into_dispatch();
    let (output, mean, variance, skip_mean, skip_variance) = Dispatch::batch_norm_join_fast(
        x,
        gamma,
        beta,
        epsilon,
        skip,
        skip_gamma,
        skip_beta,
        skip_epsilon,
    );
    (
        Tensor::from_dispatch(output),
        [
            BatchStats::from_dispatch(mean, variance),
            BatchStats::from_dispatch(skip_mean, skip_variance),
        ],
    )
}

impl<const D: usize> NormInput<D> {
    /// Burn's own evaluation-mode BatchNorm with `running` statistics.
    fn stock_eval(self, running: BatchStats) -> Tensor<D> {
        burn::tensor::module::batch_norm(
            self.x,
            self.gamma,
            self.beta,
            running.mean,
            running.variance,
            self.epsilon,
        )
    }
}

impl BatchStats {
    fn into_dispatch(self) -> (DispatchTensor, DispatchTensor) {
        (self.mean.into_dispatch(), self.variance.into_dispatch())
    }
}

/// BatchNorm in evaluation mode, with the `running` statistics, as
/// `burn::tensor::module::batch_norm`.
pub fn batch_norm_eval<const D: usize>(input: NormInput<D>, running: BatchStats) -> Tensor<D> {
    if !input.accelerated() {
        return input.stock_eval(running);
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (mean, variance) = running.into_dispatch();
    Tensor::from_dispatch(Dispatch::batch_norm_fast_eval(
        x, gamma, beta, mean, variance, epsilon,
    ))
}

/// `relu(BatchNorm(x))` in evaluation mode, in one pass over the data.
pub fn batch_norm_relu_eval<const D: usize>(input: NormInput<D>, running: BatchStats) -> Tensor<D> {
    if !input.accelerated() {
        return burn::tensor::activation::relu(input.stock_eval(running));
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (mean, variance) = running.into_dispatch();
    Tensor::from_dispatch(Dispatch::batch_norm_relu_fast_eval(
        x, gamma, beta, mean, variance, epsilon,
    ))
}

/// A residual block's join in evaluation mode, `relu(BatchNorm(x) +
/// BatchNorm'(skip))` with each one's running statistics, in one pass over
/// the data.
pub fn batch_norm_join_eval<const D: usize>(
    (input, running): (NormInput<D>, BatchStats),
    (skip, skip_running): (NormInput<D>, BatchStats),
) -> Tensor<D> {
    let fused = input.accelerated() && skip.accelerated() && input.x.dims() == skip.x.dims();
    if !fused {
        return add_relu(input.stock_eval(running), skip.stock_eval(skip_running));
    }
    let (x, gamma, beta, epsilon) = input.into_dispatch();
    let (mean, variance) = running.into_dispatch();
    let (skip, skip_gamma, skip_beta, skip_epsilon) = skip.into_dispatch();
    let (skip_mean, skip_variance) = skip_running.into_dispatch();
    Tensor::from_dispatch(Dispatch::batch_norm_join_fast_eval(
        x,
        gamma,
        beta,
        mean,
        variance,
        epsilon,
        skip,
        skip_gamma,
        skip_beta,
        skip_mean,
        skip_variance,
        skip_epsilon,
    ))
}

/// `relu(a + b)`, the join of a residual block.
pub fn add_relu<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if !accelerated(&a.device(), a.dtype()) || a.dims() != b.dims() {
        return burn::tensor::activation::relu(a + b);
    }
    Tensor::from_dispatch(Dispatch::add_relu_fast(
        a.into_dispatch(),
        b.into_dispatch(),
    ))
}

/// Average pooling with stride = kernel and no padding, as
/// `burn::tensor::module::avg_pool2d`.
pub fn avg_pool2d_tiled(x: Tensor<4>, kernel: [usize; 2]) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let tiles = kernel[0] > 0 && kernel[1] > 0 && height % kernel[0] == 0 && width % kernel[1] == 0;
    if !accelerated(&x.device(), x.dtype()) || !tiles {
        let options = burn::tensor::ops::AvgPoolOptions::new(kernel).with_stride(kernel);
        return burn::tensor::module::avg_pool2d(x, options);
    }
    Tensor::from_dispatch(Dispatch::avg_pool2d_tiled(x.into_dispatch(), kernel))
}

#[cfg(test)]
mod tests;

/// The numbers of one Adam update, for [`adam_step`]. Per value, with `g`
/// the gradient plus `weight_decay * param`:
///
/// ```text
/// m' = beta_1 * m + (1 - beta_1) * g
/// v' = beta_2 * v + (1 - beta_2) * g^2
/// param' = param - learning_rate * moment_scale * m' / (sqrt(v') + epsilon)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub beta_1: f32,
    pub beta_2: f32,
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)` at step `t` (from 1): the bias
    /// corrections of both moments.
    pub moment_scale: f32,
    /// Adam's epsilon times `sqrt(1 - beta_2^t)`.
    pub epsilon: f32,
    pub learning_rate: f32,
    /// The L2 penalty added to the gradient, if any.
    pub weight_decay: Option<f32>,
}

impl AdamStep {
    /// Step `t` (from 1) of Adam with these hyper-parameters, with the bias
    /// corrections worked out in `f32`, as Burn's `Adam` does.
    pub fn new(
        [beta_1, beta_2, epsilon]: [f32; 3],
        t: i32,
        learning_rate: f64,
        weight_decay: Option<f32>,
    ) -> Self {
        let correction_2 = (1.0 - beta_2.powi(t)).sqrt();
        AdamStep {
            beta_1,
            beta_2,
            moment_scale: correction_2 / (1.0 - beta_1.powi(t)),
            epsilon: epsilon * correction_2,
            learning_rate: learning_rate as f32,
            weight_decay,
        }
    }
}

/// One Adam update of `param`: the new parameter and moments, in one pass
/// on the flex device (Burn's `Adam` runs a dozen whole-tensor operations).
pub fn adam_step<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    step: AdamStep,
) -> [Tensor<D>; 3] {
    let fused = accelerated(&grad.device(), grad.dtype());
    let [param, grad, moment_1, moment_2] =
        [param, grad, moment_1, moment_2].map(Tensor::into_dispatch);
    let (param, moment_1, moment_2) = if fused {
        Dispatch::adam_step_fast(param, grad, moment_1, moment_2, step)
    } else {
        stock::adam_step::<Dispatch>(param, grad, moment_1, moment_2, step)
    };
    [param, moment_1, moment_2].map(Tensor::from_dispatch)
}
