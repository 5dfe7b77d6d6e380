//! Burn's stock operations behind [`FastLayers`](crate::FastLayers): the
//! trait's default bodies, and what the kernels fall back to for inputs they
//! are not written for (other dtypes, grouped convolutions).

use burn::backend::TensorMetadata;
use burn::backend::{Backend, tensor::FloatTensor};
use burn::tensor::Shape;

use crate::{
    AdamState, AdamStep, ConvGrads, ConvParamGrads, ConvPrimitive, Epilogue, JoinGrads, JoinOutput,
    JoinPrimitive, JoinStats, NormGrads, NormOutput, NormPrimitive, StatsPrimitive,
};

pub(crate) fn conv2d<B: Backend>(
    conv: ConvPrimitive<B>,
    bias: FloatTensor<B>,
    activation: Epilogue,
) -> FloatTensor<B> {
    let output = B::conv2d(conv.x, conv.weight, Some(bias), conv.options);
    activate::<B>(output, activation)
}

pub(crate) fn conv2d_x_grad<B: Backend>(
    conv: ConvPrimitive<B>,
    output_grad: FloatTensor<B>,
) -> FloatTensor<B> {
    B::conv2d_x_backward(conv.x, conv.weight, output_grad, conv.options)
}

pub(crate) fn conv2d_param_grads<B: Backend>(
    conv: ConvPrimitive<B>,
    output_grad: FloatTensor<B>,
) -> ConvParamGrads<B> {
    let channels = output_grad.shape()[1];
    let per_channel = B::float_reshape(
        B::float_swap_dims(output_grad.clone(), 0, 1),
        Shape::new([channels, output_grad.shape().num_elements() / channels]),
    );
    let bias = B::float_reshape(B::float_sum_dim(per_channel, 1), Shape::new([channels]));
    let weight = B::conv2d_weight_backward(conv.x, conv.weight, output_grad, conv.options);
    ConvParamGrads { weight, bias }
}

pub(crate) fn conv2d_grads<B: Backend>(
    conv: ConvPrimitive<B>,
    output_grad: FloatTensor<B>,
) -> ConvGrads<B> {
    let x = conv2d_x_grad::<B>(conv.clone(), output_grad.clone());
    let params = conv2d_param_grads::<B>(conv, output_grad);
    ConvGrads { x, params }
}

fn activate<B: Backend>(x: FloatTensor<B>, activation: Epilogue) -> FloatTensor<B> {
    match activation {
        Epilogue::Identity => x,
        Epilogue::Relu => B::relu(x),
    }
}

pub(crate) fn batch_norm<B: Backend>(
    norm: NormPrimitive<B>,
    activation: Epilogue,
) -> NormOutput<B> {
    let result = B::batch_norm_train(norm.x, norm.gamma, norm.beta, norm.epsilon);
    NormOutput {
        output: activate::<B>(result.output, activation),
        stats: StatsPrimitive {
            mean: result.mean,
            variance: result.variance,
        },
    }
}

/// BatchNorm with given statistics: the evaluation formula (which, with the
/// batch statistics of a forward, gives its output again).
pub(crate) fn batch_norm_eval<B: Backend>(
    norm: NormPrimitive<B>,
    stats: StatsPrimitive<B>,
    activation: Epilogue,
) -> FloatTensor<B> {
    let output = B::batch_norm(
        norm.x,
        norm.gamma,
        norm.beta,
        stats.mean,
        stats.variance,
        norm.epsilon,
    );
    activate::<B>(output, activation)
}

/// The gradient that passes an activation whose input was `pre`.
fn through<B: Backend>(
    activation: Epilogue,
    pre: impl FnOnce() -> FloatTensor<B>,
    output_grad: FloatTensor<B>,
) -> FloatTensor<B> {
    match activation {
        Epilogue::Identity => output_grad,
        Epilogue::Relu => B::relu_backward(B::relu(pre()), output_grad),
    }
}

pub(crate) fn batch_norm_backward<B: Backend>(
    norm: NormPrimitive<B>,
    stats: StatsPrimitive<B>,
    activation: Epilogue,
    output_grad: FloatTensor<B>,
) -> NormGrads<B> {
    let pre = || batch_norm_eval::<B>(norm.clone(), stats.clone(), Epilogue::Identity);
    let grad = through::<B>(activation, pre, output_grad);
    let grads = B::batch_norm_train_backward(
        norm.x,
        norm.gamma,
        stats.mean,
        stats.variance,
        norm.epsilon,
        grad,
    );
    NormGrads {
        x: grads.x_grad,
        gamma: grads.gamma_grad,
        beta: grads.beta_grad,
    }
}

pub(crate) fn add_relu<B: Backend>(a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B> {
    B::relu(B::float_add(a, b))
}

pub(crate) fn batch_norm_join<B: Backend>(join: JoinPrimitive<B>) -> JoinOutput<B> {
    let input = batch_norm::<B>(join.input, Epilogue::Identity);
    let skip = batch_norm::<B>(join.skip, Epilogue::Identity);
    JoinOutput {
        output: add_relu::<B>(input.output, skip.output),
        stats: JoinStats {
            input: input.stats,
            skip: skip.stats,
        },
    }
}

/// The join's sum before its ReLU.
fn join_sum<B: Backend>(join: JoinPrimitive<B>, stats: JoinStats<B>) -> FloatTensor<B> {
    B::float_add(
        batch_norm_eval::<B>(join.input, stats.input, Epilogue::Identity),
        batch_norm_eval::<B>(join.skip, stats.skip, Epilogue::Identity),
    )
}

pub(crate) fn batch_norm_join_eval<B: Backend>(
    join: JoinPrimitive<B>,
    stats: JoinStats<B>,
) -> FloatTensor<B> {
    B::relu(join_sum::<B>(join, stats))
}

pub(crate) fn batch_norm_join_backward<B: Backend>(
    join: JoinPrimitive<B>,
    stats: JoinStats<B>,
    output_grad: FloatTensor<B>,
) -> JoinGrads<B> {
    let pre = || join_sum::<B>(join.clone(), stats.clone());
    let grad = through::<B>(Epilogue::Relu, pre, output_grad);
    let backward =
        |norm, stats, grad| batch_norm_backward::<B>(norm, stats, Epilogue::Identity, grad);
    JoinGrads {
        input: backward(join.input, stats.input, grad.clone()),
        skip: backward(join.skip, stats.skip, grad),
    }
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

/// Burn's `Adam` update, operation by operation in its order, so the fused
/// kernel can be checked against it to the last bit.
pub(crate) fn adam_step<B: Backend>(
    state: AdamState<B>,
    grad: FloatTensor<B>,
    step: AdamStep,
) -> AdamState<B> {
    let scalar = |value: f32| value.into();
    let AdamState {
        param,
        moment_1,
        moment_2,
    } = state;
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
    AdamState {
        param,
        moment_1,
        moment_2,
    }
}
