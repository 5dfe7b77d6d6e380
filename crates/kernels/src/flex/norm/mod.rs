//! BatchNorm in two fused passes forward and two backward, for one input
//! (plain or through a ReLU) or two (a residual block's join,
//! `relu(BN(x) + BN'(skip))`): the sum of `N` BatchNorms, through a ReLU if
//! `RELU`, is one kernel.

mod planes;

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::{DType, Shape};

use self::planes::{ChannelStats, Normalised, Planes, SavedValues};
use super::storage::{contiguous, tensor, values};
use crate::{
    Epilogue, JoinGrads, JoinOutput, JoinPrimitive, JoinStats, NormGrads, NormOutput,
    NormPrimitive, StatsPrimitive, stock,
};

pub(super) fn train(norm: NormPrimitive<Flex>, activation: Epilogue) -> NormOutput<Flex> {
    if norm.x.dtype() != DType::F32 {
        return stock::batch_norm::<Flex>(norm, activation);
    }
    let (output, [stats]) = match activation {
        Epilogue::Identity => batch_norms::<1, false>([norm]),
        Epilogue::Relu => batch_norms::<1, true>([norm]),
    };
    NormOutput { output, stats }
}

pub(super) fn eval(
    norm: NormPrimitive<Flex>,
    stats: StatsPrimitive<Flex>,
    activation: Epilogue,
) -> FlexTensor {
    if norm.x.dtype() != DType::F32 {
        return stock::batch_norm_eval::<Flex>(norm, stats, activation);
    }
    let input = [NormWithStats::new(norm, stats)];
    match activation {
        Epilogue::Identity => eval_norms::<1, false>(input),
        Epilogue::Relu => eval_norms::<1, true>(input),
    }
}

pub(super) fn backward(
    norm: NormPrimitive<Flex>,
    stats: StatsPrimitive<Flex>,
    activation: Epilogue,
    output_grad: FlexTensor,
) -> NormGrads<Flex> {
    if norm.x.dtype() != DType::F32 {
        return stock::batch_norm_backward::<Flex>(norm, stats, activation, output_grad);
    }
    let input = [NormWithStats::new(norm, stats)];
    let [grads] = match activation {
        Epilogue::Identity => norms_backward::<1, false>(input, output_grad),
        Epilogue::Relu => norms_backward::<1, true>(input, output_grad),
    };
    grads
}

pub(super) fn join_train(join: JoinPrimitive<Flex>) -> JoinOutput<Flex> {
    if !fits(&join) {
        return stock::batch_norm_join::<Flex>(join);
    }
    let (output, [input, skip]) = batch_norms::<2, true>([join.input, join.skip]);
    JoinOutput {
        output,
        stats: JoinStats { input, skip },
    }
}

pub(super) fn join_eval(join: JoinPrimitive<Flex>, stats: JoinStats<Flex>) -> FlexTensor {
    if !fits(&join) {
        return stock::batch_norm_join_eval::<Flex>(join, stats);
    }
    eval_norms::<2, true>([
        NormWithStats::new(join.input, stats.input),
        NormWithStats::new(join.skip, stats.skip),
    ])
}

pub(super) fn join_backward(
    join: JoinPrimitive<Flex>,
    stats: JoinStats<Flex>,
    output_grad: FlexTensor,
) -> JoinGrads<Flex> {
    if !fits(&join) {
        return stock::batch_norm_join_backward::<Flex>(join, stats, output_grad);
    }
    let inputs = [
        NormWithStats::new(join.input, stats.input),
        NormWithStats::new(join.skip, stats.skip),
    ];
    let [input, skip] = norms_backward::<2, true>(inputs, output_grad);
    JoinGrads { input, skip }
}

/// Whether the join's inputs are what the kernel is written for: f32, of
/// one shape.
fn fits(join: &JoinPrimitive<Flex>) -> bool {
    let (x, skip) = (&join.input.x, &join.skip.x);
    [x.dtype(), skip.dtype()] == [DType::F32; 2] && x.shape() == skip.shape()
}

/// `norm` with contiguous storage.
fn contiguous_norm(norm: NormPrimitive<Flex>) -> NormPrimitive<Flex> {
    let [x, gamma, beta] = [norm.x, norm.gamma, norm.beta].map(contiguous);
    NormPrimitive {
        x,
        gamma,
        beta,
        epsilon: norm.epsilon,
    }
}

/// BatchNorm as `x * scale + shift` per channel.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Affine {
    fn new(norm: &NormPrimitive<Flex>, stats: impl Iterator<Item = ChannelStats>) -> Self {
        let (gamma, beta) = (values(&norm.gamma), values(&norm.beta));
        let (scale, shift) = stats
            .zip(gamma.iter().zip(beta))
            .map(|(s, (&g, &b))| {
                let scale = g * (1.0 / (s.variance as f64 + norm.epsilon).sqrt()) as f32;
                (scale, b - s.mean * scale)
            })
            .unzip();
        Affine { scale, shift }
    }

    /// `x`, normalised by `self`.
    fn of<'a>(&'a self, x: &'a [f32]) -> Normalised<'a> {
        Normalised {
            x,
            scale: &self.scale,
            shift: &self.shift,
        }
    }
}

/// A BatchNorm with the statistics it normalises with (given, or those of
/// the batch in a backward pass), contiguous.
struct NormWithStats {
    norm: NormPrimitive<Flex>,
    mean: FlexTensor,
    variance: FlexTensor,
}

impl NormWithStats {
    fn new(norm: NormPrimitive<Flex>, stats: StatsPrimitive<Flex>) -> Self {
        NormWithStats {
            norm: contiguous_norm(norm),
            mean: contiguous(stats.mean),
            variance: contiguous(stats.variance),
        }
    }

    /// The forward's `scale` and `shift`, to the bit: the backward works out
    /// the ReLU's mask from them.
    fn affine(&self) -> Affine {
        let stats = values(&self.mean)
            .iter()
            .zip(values(&self.variance))
            .map(|(&mean, &variance)| ChannelStats { mean, variance });
        Affine::new(&self.norm, stats)
    }
}

/// `relu?(sum of BatchNorm_k(x_k))` with batch statistics, for `N` inputs
/// of one shape: the output, and each input's mean and variance.
fn batch_norms<const N: usize, const RELU: bool>(
    inputs: [NormPrimitive<Flex>; N],
) -> (FlexTensor, [StatsPrimitive<Flex>; N]) {
    let inputs = inputs.map(contiguous_norm);
    let shape = inputs[0].x.shape();
    let planes = Planes::of(&shape);
    let stats = inputs
        .each_ref()
        .map(|input| planes.statistics(values(&input.x)));
    let affines: [_; N] =
        std::array::from_fn(|k| Affine::new(&inputs[k], stats[k].iter().copied()));
    let normalised = std::array::from_fn(|k| affines[k].of(values(&inputs[k].x)));
    let output = planes.normalise::<N, RELU>(normalised);
    let channels = Shape::new([planes.channels]);
    let stats = stats.map(|stats| StatsPrimitive {
        mean: tensor(stats.iter().map(|s| s.mean).collect(), channels.clone()),
        variance: tensor(stats.iter().map(|s| s.variance).collect(), channels.clone()),
    });
    (tensor(output, shape), stats)
}

/// `relu?(sum of BatchNorm_k(x_k))` with given statistics, for `N` inputs
/// of one shape.
fn eval_norms<const N: usize, const RELU: bool>(inputs: [NormWithStats; N]) -> FlexTensor {
    let shape = inputs[0].norm.x.shape();
    let affines = inputs.each_ref().map(NormWithStats::affine);
    let normalised = std::array::from_fn(|k| affines[k].of(values(&inputs[k].norm.x)));
    tensor(Planes::of(&shape).normalise::<N, RELU>(normalised), shape)
}

/// The gradients of [`batch_norms`]' inputs, gammas and betas.
fn norms_backward<const N: usize, const RELU: bool>(
    inputs: [NormWithStats; N],
    output_grad: FlexTensor,
) -> [NormGrads<Flex>; N] {
    let (shape, dy) = (output_grad.shape(), contiguous(output_grad));
    let planes = Planes::of(&shape);
    let affines = inputs.each_ref().map(NormWithStats::affine);
    let saved = std::array::from_fn(|k| SavedValues {
        normalised: affines[k].of(values(&inputs[k].norm.x)),
        gamma: values(&inputs[k].norm.gamma),
        mean: values(&inputs[k].mean),
        variance: values(&inputs[k].variance),
        epsilon: inputs[k].norm.epsilon,
    });
    let channels = Shape::new([planes.channels]);
    planes
        .normalise_backward::<N, RELU>(saved, values(&dy))
        .map(|grads| NormGrads {
            x: tensor(grads.x, shape.clone()),
            gamma: tensor(grads.gamma, channels.clone()),
            beta: tensor(grads.beta, channels.clone()),
        })
}
