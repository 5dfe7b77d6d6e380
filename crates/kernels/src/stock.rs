//! Burn's stock operations behind [`FastLayers`](crate::FastLayers): the
//! trait's default bodies, and what the kernels fall back to for inputs they
//! are not written for (other dtypes, grouped convolutions).

use burn::backend::TensorMetadata;
use burn::backend::{Backend, ops::ConvOptions, tensor::FloatTensor};
use burn::tensor::Shape;

pub(crate) fn conv2d_param_grads<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    options: ConvOptions<2>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let channels = output_grad.shape()[1];
    let per_channel = B::float_reshape(
        B::float_swap_dims(output_grad.clone(), 0, 1),
        Shape::new([channels, output_grad.shape().num_elements() / channels]),
    );
    let bias_grad = B::float_reshape(B::float_sum_dim(per_channel, 1), Shape::new([channels]));
    let weight_grad = B::conv2d_weight_backward(x, weight, output_grad, options);
    (weight_grad, bias_grad)
}

pub(crate) fn conv2d_grads<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    options: ConvOptions<2>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let x_grad = B::conv2d_x_backward(
        x.clone(),
        weight.clone(),
        output_grad.clone(),
        options.clone(),
    );
    let (weight_grad, bias_grad) = conv2d_param_grads::<B>(x, weight, output_grad, options);
    (x_grad, weight_grad, bias_grad)
}

pub(crate) fn batch_norm<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let result = B::batch_norm_train(x, gamma, beta, epsilon);
    (result.output, result.mean, result.variance)
}

pub(crate) fn batch_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
    epsilon: f64,
    output_grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let grads = B::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
    (grads.x_grad, grads.gamma_grad, grads.beta_grad)
}

pub(crate) fn add_relu<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::relu(B::float_add(a, b))
}

pub(crate) fn avg_pool2d_tiled<B: Backend>(
    x: FloatTensor<B>,
    kernel: [usize; 2],
) -> FloatTensor<B> {
    B::avg_pool2d(x, kernel, kernel, [0, 0], true, false)
}

pub(crate) fn avg_pool2d_tiled_backward<B: Backend>(
    x: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    kernel: [usize; 2],
) -> FloatTensor<B> {
    B::avg_pool2d_backward(x, output_grad, kernel, kernel, [0, 0], true, false)
}

/// A BatchNorm's input, gamma, beta and epsilon.
pub(crate) type Norm<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, f64);

/// A batch's mean and variance per channel.
pub(crate) type Stats<B> = (FloatTensor<B>, FloatTensor<B>);

pub(crate) fn batch_norm_relu<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let (output, mean, variance) = batch_norm::<B>(x, gamma, beta, epsilon);
    (B::relu(output), mean, variance)
}

#[allow(clippy::type_complexity)]
pub(crate) fn batch_norm_join<B: Backend>(
    (x, gamma, beta, epsilon): Norm<B>,
    (skip, skip_gamma, skip_beta, skip_epsilon): Norm<B>,
) -> (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
) {
    let (output, mean, variance) = batch_norm::<B>(x, gamma, beta, epsilon);
    let (skip_output, skip_mean, skip_variance) =
        batch_norm::<B>(skip, skip_gamma, skip_beta, skip_epsilon);
    let output = add_relu::<B>(output, skip_output);
    (output, mean, variance, skip_mean, skip_variance)
}

/// BatchNorm with given statistics: the evaluation formula (which, with the
/// batch statistics of a forward, gives its output again).
pub(crate) fn batch_norm_eval<B: Backend>(
    (x, gamma, beta, epsilon): Norm<B>,
    (mean, variance): Stats<B>,
) -> FloatTensor<B> {
    B::batch_norm(x, gamma, beta, mean, variance, epsilon)
}

/// The gradient that passes a ReLU whose input was `pre`.
fn through_relu<B: Backend>(pre: FloatTensor<B>, output_grad: FloatTensor<B>) -> FloatTensor<B> {
    B::relu_backward(B::relu(pre), output_grad)
}

pub(crate) fn norm_backward<B: Backend>(
    (x, gamma, _, epsilon): Norm<B>,
    (mean, variance): Stats<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    batch_norm_backward::<B>(x, gamma, mean, variance, epsilon, grad)
}

pub(crate) fn batch_norm_relu_backward<B: Backend>(
    norm: Norm<B>,
    stats: Stats<B>,
    output_grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let pre = batch_norm_eval::<B>(norm.clone(), stats.clone());
    norm_backward::<B>(norm, stats, through_relu::<B>(pre, output_grad))
}

#[allow(clippy::type_complexity)]
pub(crate) fn batch_norm_join_backward<B: Backend>(
    (norm, stats): (Norm<B>, Stats<B>),
    (skip_norm, skip_stats): (Norm<B>, Stats<B>),
    output_grad: FloatTensor<B>,
) -> (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
) {
    let pre = B::float_add(
        batch_norm_eval::<B>(norm.clone(), stats.clone()),
        batch_norm_eval::<B>(skip_norm.clone(), skip_stats.clone()),
    );
    let grad = through_relu::<B>(pre, output_grad);
    let (x_grad, gamma_grad, beta_grad) = norm_backward::<B>(norm, stats, grad.clone());
    let (skip_grad, skip_gamma_grad, skip_beta_grad) =
        norm_backward::<B>(skip_norm, skip_stats, grad);
    (
        x_grad,
        gamma_grad,
        beta_grad,
        skip_grad,
        skip_gamma_grad,
        skip_beta_grad,
    )
}

/// Burn's `Adam` update, operation by operation in its order, so the fused
/// kernel can be checked against it to the last bit.
pub(crate) fn adam_step<B: Backend>(
    param: FloatTensor<B>,
    grad: FloatTensor<B>,
    moment_1: FloatTensor<B>,
    moment_2: FloatTensor<B>,
    step: crate::AdamStep,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let scalar = |value: f32| value.into();
    let grad = match step.weight_decay {
        Some(penalty) => B::float_add(B::float_mul_scalar(param.clone(), scalar(penalty)), grad),
        None => grad,
    };
    let moment_1 = B::float_add(
        B::float_mul_scalar(moment_1, scalar(step.beta_1)),
        B::float_mul_scalar(grad.clone(), scalar(1.0 - step.beta_1)),
    );
    let moment_2 = B::float_add(
        B::float_mul_scalar(moment_2, scalar(step.beta_2)),
        B::float_mul_scalar(B::float_mul(grad.clone(), grad), scalar(1.0 - step.beta_2)),
    );
    let update = B::float_div(
        B::float_mul_scalar(moment_1.clone(), scalar(step.moment_scale)),
        B::float_add_scalar(B::float_sqrt(moment_2.clone()), scalar(step.epsilon)),
    );
    let param = B::float_sub(
        param,
        B::float_mul_scalar(update, scalar(step.learning_rate)),
    );
    (param, moment_1, moment_2)
}

pub(crate) fn batch_norm_relu_eval<B: Backend>(norm: Norm<B>, stats: Stats<B>) -> FloatTensor<B> {
    B::relu(batch_norm_eval::<B>(norm, stats))
}

pub(crate) fn batch_norm_join_eval<B: Backend>(
    (norm, stats): (Norm<B>, Stats<B>),
    (skip_norm, skip_stats): (Norm<B>, Stats<B>),
) -> FloatTensor<B> {
    add_relu::<B>(
        batch_norm_eval::<B>(norm, stats),
        batch_norm_eval::<B>(skip_norm, skip_stats),
    )
}
