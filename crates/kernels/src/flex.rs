//! The kernels, on flex's f32 storage.
//!
//! Work is split across rayon's pool (the one flex uses) by image for the
//! convolution and by channel or plane for BatchNorm; sums over a plane run in
//! eight f32 lanes (vectorised by the compiler) and add up across planes in
//! f64, so a channel of 50,000 values keeps its precision.

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, Shape, TensorData};
use std::mem::MaybeUninit;

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use crate::{AdamStep, FastLayers, stock};

impl FastLayers for Flex {
    fn conv2d_fast(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        let out_shape = output_shape(&x.shape(), &weight.shape(), &options);
        let Some(out_shape) = out_shape.filter(|_| im2col_serves(&x, &options)) else {
            return Flex::conv2d(x, weight, Some(bias), options);
        };
        let geometry = ConvGeometry::new(&x.shape(), &weight.shape(), &out_shape, &options);
        let [x, weight, bias] = [x, weight, bias].map(contiguous);
        let output = geometry.forward(values(&x), values(&weight), values(&bias));
        tensor(output, out_shape)
    }

    fn conv2d_fast_x_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        if !im2col_serves(&x, &options) {
            return Flex::conv2d_x_backward(x, weight, output_grad, options);
        }
        let geometry =
            ConvGeometry::new(&x.shape(), &weight.shape(), &output_grad.shape(), &options);
        let [weight, output_grad] = [weight, output_grad].map(contiguous);
        let x_grad = geometry.input_grad(values(&weight), values(&output_grad));
        tensor(x_grad, x.shape())
    }

    fn conv2d_fast_param_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if !im2col_serves(&x, &options) {
            return stock::conv2d_param_grads::<Self>(x, weight, output_grad, options);
        }
        let geometry =
            ConvGeometry::new(&x.shape(), &weight.shape(), &output_grad.shape(), &options);
        let (x, output_grad) = (contiguous(x), contiguous(output_grad));
        let grads = geometry.param_grads(values(&x), values(&output_grad));
        (
            tensor(grads.weight, weight.shape()),
            tensor(grads.bias, Shape::new([geometry.channels_out])),
        )
    }

    fn conv2d_fast_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        if !im2col_serves(&x, &options) {
            return stock::conv2d_grads::<Self>(x, weight, output_grad, options);
        }
        let geometry =
            ConvGeometry::new(&x.shape(), &weight.shape(), &output_grad.shape(), &options);
        let [x, weight_values, output_grad] = [x, weight.clone(), output_grad].map(contiguous);
        let (x_grad, grads) =
            geometry.all_grads(values(&x), values(&weight_values), values(&output_grad));
        (
            tensor(x_grad, x.shape()),
            tensor(grads.weight, weight.shape()),
            tensor(grads.bias, Shape::new([geometry.channels_out])),
        )
    }

    fn batch_norm_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        one_norm::<false>(x, gamma, beta, epsilon)
    }

    fn batch_norm_relu_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        one_norm::<true>(x, gamma, beta, epsilon)
    }

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
        if [x.dtype(), skip.dtype()] != [DType::F32; 2] || x.shape() != skip.shape() {
            return stock::batch_norm_join::<Self>(
                (x, gamma, beta, epsilon),
                (skip, skip_gamma, skip_beta, skip_epsilon),
            );
        }
        let inputs = [
            NormArgs::new(x, gamma, beta, epsilon),
            NormArgs::new(skip, skip_gamma, skip_beta, skip_epsilon),
        ];
        let (output, [[mean, variance], [skip_mean, skip_variance]]) =
            batch_norms::<2, true>(inputs);
        (output, mean, variance, skip_mean, skip_variance)
    }

    fn batch_norm_fast_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        one_frozen::<false>((x, gamma, beta, epsilon), (mean, variance))
    }

    fn batch_norm_relu_fast_eval(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        one_frozen::<true>((x, gamma, beta, epsilon), (mean, variance))
    }

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
        if [x.dtype(), skip.dtype()] != [DType::F32; 2] || x.shape() != skip.shape() {
            return stock::batch_norm_join_eval::<Self>(
                ((x, gamma, beta, epsilon), (mean, variance)),
                (
                    (skip, skip_gamma, skip_beta, skip_epsilon),
                    (skip_mean, skip_variance),
                ),
            );
        }
        frozen_norms::<2, true>([
            SavedArgs::new((x, gamma, beta, epsilon), mean, variance),
            SavedArgs::new(
                (skip, skip_gamma, skip_beta, skip_epsilon),
                skip_mean,
                skip_variance,
            ),
        ])
    }

    fn add_relu_fast(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        if a.dtype() != DType::F32 || a.shape() != b.shape() {
            return stock::add_relu::<Self>(a, b);
        }
        let [a, b] = [a, b].map(contiguous);
        let (xs, ys) = (values(&a), values(&b));
        let fill = |_: &mut (), index: usize, out: &mut [MaybeUninit<f32>]| {
            let start = index * ELEMENTWISE_CHUNK;
            for ((o, &x), &y) in out.iter_mut().zip(&xs[start..]).zip(&ys[start..]) {
                o.write((x + y).max(0.0));
            }
        };
        // SAFETY: each chunk of the output has its full counterpart in `xs` and `ys`.
        let out = unsafe { par_fill(xs.len(), ELEMENTWISE_CHUNK, 1, || (), fill) };
        tensor(out, a.shape())
    }

    fn avg_pool2d_tiled(x: FloatTensor<Self>, kernel: [usize; 2]) -> FloatTensor<Self> {
        let Some(pool) = Tiles::new(&x.shape(), kernel).filter(|_| x.dtype() == DType::F32) else {
            return stock::avg_pool2d_tiled::<Self>(x, kernel);
        };
        let x = contiguous(x);
        tensor(pool.forward(values(&x)), pool.output_shape(&x.shape()))
    }

    fn avg_pool2d_tiled_backward(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        kernel: [usize; 2],
    ) -> FloatTensor<Self> {
        let Some(pool) = Tiles::new(&x.shape(), kernel).filter(|_| x.dtype() == DType::F32) else {
            return stock::avg_pool2d_tiled_backward::<Self>(x, output_grad, kernel);
        };
        let output_grad = contiguous(output_grad);
        tensor(pool.backward(values(&output_grad)), x.shape())
    }

    fn batch_norm_fast_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        one_norm_backward::<false>((x, gamma, beta, epsilon), (mean, variance), output_grad)
    }

    fn batch_norm_relu_fast_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        one_norm_backward::<true>((x, gamma, beta, epsilon), (mean, variance), output_grad)
    }

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
        if [x.dtype(), skip.dtype()] != [DType::F32; 2] || x.shape() != skip.shape() {
            return stock::batch_norm_join_backward::<Self>(
                ((x, gamma, beta, epsilon), (mean, variance)),
                (
                    (skip, skip_gamma, skip_beta, skip_epsilon),
                    (skip_mean, skip_variance),
                ),
                output_grad,
            );
        }
        let inputs = [
            SavedArgs::new((x, gamma, beta, epsilon), mean, variance),
            SavedArgs::new(
                (skip, skip_gamma, skip_beta, skip_epsilon),
                skip_mean,
                skip_variance,
            ),
        ];
        let [
            [x_grad, gamma_grad, beta_grad],
            [skip_grad, skip_gamma_grad, skip_beta_grad],
        ] = batch_norms_backward::<2, true>(inputs, output_grad);
        (
            x_grad,
            gamma_grad,
            beta_grad,
            skip_grad,
            skip_gamma_grad,
            skip_beta_grad,
        )
    }

    fn adam_step_fast(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let tensors = [&param, &grad, &moment_1, &moment_2];
        let fits = tensors
            .iter()
            .all(|t| t.dtype() == DType::F32 && t.shape() == param.shape());
        if !fits {
            return stock::adam_step::<Self>(param, grad, moment_1, moment_2, step);
        }
        let shape = param.shape();
        let [param, grad, moment_1, moment_2] = [param, grad, moment_1, moment_2].map(contiguous);
        let [param, moment_1, moment_2] =
            adam([&param, &grad, &moment_1, &moment_2].map(values), step);
        (
            tensor(param, shape.clone()),
            tensor(moment_1, shape.clone()),
            tensor(moment_2, shape),
        )
    }
}

/// Adam's update value by value, each operation in the order of Burn's
/// `Adam` (see `stock::adam_step`), so the results are the same to the bit.
fn adam([param, grad, moment_1, moment_2]: [&[f32]; 4], step: AdamStep) -> [Vec<f32>; 3] {
    let fill = |_: &mut (), index: usize, [p_out, m_out, v_out]: [&mut [MaybeUninit<f32>]; 3]| {
        let at = index * ELEMENTWISE_CHUNK;
        let inputs = [param, grad, moment_1, moment_2].map(|v| &v[at..][..p_out.len()]);
        let [param, grad, moment_1, moment_2] = inputs;
        for i in 0..p_out.len() {
            let g = match step.weight_decay {
                Some(penalty) => param[i] * penalty + grad[i],
                None => grad[i],
            };
            let m = moment_1[i] * step.beta_1 + g * (1.0 - step.beta_1);
            let v = moment_2[i] * step.beta_2 + (g * g) * (1.0 - step.beta_2);
            let update = (m * step.moment_scale) / (v.sqrt() + step.epsilon);
            p_out[i].write(param[i] - update * step.learning_rate);
            m_out[i].write(m);
            v_out[i].write(v);
        }
    };
    // SAFETY: every value of each chunk is written, in each output.
    unsafe { par_fill_n(param.len(), ELEMENTWISE_CHUNK, 1, || (), fill) }
}

/// One BatchNorm with batch statistics, through a ReLU if `RELU`: the
/// output, mean and variance; Burn's stock operations for other dtypes.
fn one_norm<const RELU: bool>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    if x.dtype() != DType::F32 {
        let stock = if RELU {
            stock::batch_norm_relu::<Flex>
        } else {
            stock::batch_norm::<Flex>
        };
        return stock(x, gamma, beta, epsilon);
    }
    let input = NormArgs::new(x, gamma, beta, epsilon);
    let (output, [[mean, variance]]) = batch_norms::<1, RELU>([input]);
    (output, mean, variance)
}

/// One BatchNorm with given statistics, through a ReLU if `RELU`.
fn one_frozen<const RELU: bool>(norm: stock::Norm<Flex>, stats: stock::Stats<Flex>) -> FlexTensor {
    if norm.0.dtype() != DType::F32 {
        let stock = if RELU {
            stock::batch_norm_relu_eval::<Flex>
        } else {
            stock::batch_norm_eval::<Flex>
        };
        return stock(norm, stats);
    }
    frozen_norms::<1, RELU>([SavedArgs::new(norm, stats.0, stats.1)])
}

/// The gradients of [`one_norm`]'s input, gamma and beta.
fn one_norm_backward<const RELU: bool>(
    norm: stock::Norm<Flex>,
    (mean, variance): stock::Stats<Flex>,
    output_grad: FlexTensor,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    if norm.0.dtype() != DType::F32 {
        let stock = if RELU {
            stock::batch_norm_relu_backward::<Flex>
        } else {
            stock::norm_backward::<Flex>
        };
        return stock(norm, (mean, variance), output_grad);
    }
    let input = SavedArgs::new(norm, mean, variance);
    let [[x_grad, gamma_grad, beta_grad]] = batch_norms_backward::<1, RELU>([input], output_grad);
    (x_grad, gamma_grad, beta_grad)
}

/// A BatchNorm's input and parameters, contiguous.
struct NormArgs {
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
}

impl NormArgs {
    fn new(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> Self {
        let [x, gamma, beta] = [x, gamma, beta].map(contiguous);
        NormArgs {
            x,
            gamma,
            beta,
            epsilon,
        }
    }

    fn scale_and_shift(&self, stats: impl Iterator<Item = Statistics>) -> (Vec<f32>, Vec<f32>) {
        scale_and_shift(stats, values(&self.gamma), values(&self.beta), self.epsilon)
    }
}

/// What a BatchNorm's backward gets: its arguments and the batch statistics.
struct SavedArgs {
    args: NormArgs,
    mean: FlexTensor,
    variance: FlexTensor,
}

impl SavedArgs {
    fn new(
        (x, gamma, beta, epsilon): (FlexTensor, FlexTensor, FlexTensor, f64),
        mean: FlexTensor,
        variance: FlexTensor,
    ) -> Self {
        SavedArgs {
            args: NormArgs::new(x, gamma, beta, epsilon),
            mean: contiguous(mean),
            variance: contiguous(variance),
        }
    }

    /// The input, normalised with `(scale, shift)`.
    fn normalised<'a>(&'a self, (scale, shift): &'a (Vec<f32>, Vec<f32>)) -> Normalised<'a> {
        Normalised {
            x: values(&self.args.x),
            scale,
            shift,
        }
    }

    /// The forward's `scale` and `shift`, to the bit: the backward works out
    /// the ReLU's mask from them.
    fn scale_and_shift(&self) -> (Vec<f32>, Vec<f32>) {
        let stats = values(&self.mean)
            .iter()
            .zip(values(&self.variance))
            .map(|(&mean, &variance)| Statistics { mean, variance });
        self.args.scale_and_shift(stats)
    }
}

/// `relu?(sum of BatchNorm_k(x_k))` with given statistics (evaluation
/// mode), for `N` inputs of one shape.
fn frozen_norms<const N: usize, const RELU: bool>(inputs: [SavedArgs; N]) -> FlexTensor {
    let shape = inputs[0].args.x.shape();
    let coefficients = inputs.each_ref().map(SavedArgs::scale_and_shift);
    let normalised = std::array::from_fn(|k| inputs[k].normalised(&coefficients[k]));
    tensor(Planes::of(&shape).normalise::<N, RELU>(normalised), shape)
}

/// `relu?(sum of BatchNorm_k(x_k))` with batch statistics, for `N` inputs
/// of one shape: the output, and each input's mean and variance.
fn batch_norms<const N: usize, const RELU: bool>(
    inputs: [NormArgs; N],
) -> (FlexTensor, [[FlexTensor; 2]; N]) {
    let shape = inputs[0].x.shape();
    let planes = Planes::of(&shape);
    let stats = inputs
        .each_ref()
        .map(|input| planes.statistics(values(&input.x)));
    let coefficients: [_; N] =
        std::array::from_fn(|k| inputs[k].scale_and_shift(stats[k].iter().copied()));
    let normalised = std::array::from_fn(|k| Normalised {
        x: values(&inputs[k].x),
        scale: &coefficients[k].0,
        shift: &coefficients[k].1,
    });
    let output = planes.normalise::<N, RELU>(normalised);
    let channels = Shape::new([planes.channels]);
    let stats = stats.map(|stats| {
        [
            tensor(stats.iter().map(|s| s.mean).collect(), channels.clone()),
            tensor(stats.iter().map(|s| s.variance).collect(), channels.clone()),
        ]
    });
    (tensor(output, shape), stats)
}

/// The gradients of [`batch_norms`]' inputs, gammas and betas.
fn batch_norms_backward<const N: usize, const RELU: bool>(
    inputs: [SavedArgs; N],
    output_grad: FlexTensor,
) -> [[FlexTensor; 3]; N] {
    let (shape, dy) = (output_grad.shape(), contiguous(output_grad));
    let planes = Planes::of(&shape);
    let coefficients = inputs.each_ref().map(SavedArgs::scale_and_shift);
    let saved = std::array::from_fn(|k| Saved {
        normalised: inputs[k].normalised(&coefficients[k]),
        gamma: values(&inputs[k].args.gamma),
        mean: values(&inputs[k].mean),
        variance: values(&inputs[k].variance),
        epsilon: inputs[k].args.epsilon,
    });
    let channels = Shape::new([planes.channels]);
    planes
        .normalise_backward::<N, RELU>(saved, values(&dy))
        .map(|grad| {
            [
                tensor(grad.x, shape.clone()),
                tensor(grad.gamma, channels.clone()),
                tensor(grad.beta, channels.clone()),
            ]
        })
}

/// Whether the im2col kernels are written for this convolution: f32 and
/// ungrouped; anything else takes Burn's stock operations.
fn im2col_serves(x: &FlexTensor, options: &ConvOptions<2>) -> bool {
    x.dtype() == DType::F32 && options.groups == 1
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("a contiguous f32 tensor (checked by the caller)")
}

fn tensor(values: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// BatchNorm as `x * scale + shift` per channel.
fn scale_and_shift(
    stats: impl Iterator<Item = Statistics>,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>) {
    stats
        .zip(gamma.iter().zip(beta))
        .map(|(s, (&g, &b))| {
            let scale = g * (1.0 / (s.variance as f64 + epsilon).sqrt()) as f32;
            (scale, b - s.mean * scale)
        })
        .unzip()
}

/// Sum of `f(a[i], b[i])`, in eight independent lanes so the compiler can
/// vectorise it.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (a, b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    let mut lanes = [0f32; 8];
    for (x, y) in a.zip(b) {
        for k in 0..8 {
            lanes[k] += f(x[k], y[k]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A vector of `len` values written in parallel, `chunk` values at a time, by
/// `fill(state, index, chunk)`; `init` makes one `state` per task. Output
/// tensors are written whole, so zeroing them first would be wasted work.
///
/// # Safety
/// `fill` must write every value of the chunk it is given.
unsafe fn par_fill<S>(
    len: usize,
    chunk: usize,
    min_chunks: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, &mut [MaybeUninit<f32>]) + Sync + Send,
) -> Vec<f32> {
    let fill =
        |state: &mut S, index: usize, [out]: [&mut [MaybeUninit<f32>]; 1]| fill(state, index, out);
    // SAFETY: passed on from the caller.
    let [out] = unsafe { par_fill_n(len, chunk, min_chunks, init, fill) };
    out
}

/// [`par_fill`] for `N` vectors of `len` values at once: `fill` gets the
/// same chunk of each.
///
/// # Safety
/// `fill` must write every value of the chunks it is given.
unsafe fn par_fill_n<S, const N: usize>(
    len: usize,
    chunk: usize,
    min_chunks: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, [&mut [MaybeUninit<f32>]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let chunk = chunk.max(1);
    let mut outs: [Vec<f32>; N] = std::array::from_fn(|_| Vec::with_capacity(len));
    let starts = Starts(outs.each_mut().map(|out| out.as_mut_ptr().cast()));
    (0..len.div_ceil(chunk))
        .into_par_iter()
        .with_min_len(min_chunks.max(1))
        .for_each_init(init, |state, index| {
            let from = index * chunk;
            let count = chunk.min(len - from);
            // SAFETY: chunk `index` of each vector lies within its capacity,
            // and no two tasks get the same chunk.
            fill(state, index, unsafe { starts.chunks(from, count) });
        });
    for out in &mut outs {
        // SAFETY: the caller's `fill` wrote all `len` values.
        unsafe { out.set_len(len) };
    }
    outs
}

/// Where [`par_fill_n`]'s vectors start, shared with its tasks.
struct Starts<const N: usize>([*mut MaybeUninit<f32>; N]);

// SAFETY: the tasks write disjoint chunks through these pointers.
unsafe impl<const N: usize> Sync for Starts<N> {}

impl<const N: usize> Starts<N> {
    /// # Safety
    /// `from..from + count` must lie within each vector's capacity, and no
    /// other live slice may overlap it.
    #[allow(clippy::mut_from_ref)] // the memory is the vectors', reached by pointer
    unsafe fn chunks(&self, from: usize, count: usize) -> [&mut [MaybeUninit<f32>]; N] {
        // SAFETY: as promised by the caller.
        self.0
            .map(|start| unsafe { std::slice::from_raw_parts_mut(start.add(from), count) })
    }
}

/// `chunk` with each run of `run` values set to `value(run index)`, as
/// initialised memory.
fn write_runs(
    chunk: &mut [MaybeUninit<f32>],
    run: usize,
    value: impl Fn(usize) -> f32,
) -> &mut [f32] {
    for (index, run) in chunk.chunks_mut(run.max(1)).enumerate() {
        run.fill(MaybeUninit::new(value(index)));
    }
    // SAFETY: every value was just written, and `MaybeUninit<f32>` has the
    // layout of `f32`.
    unsafe { &mut *(chunk as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// How many chunks of work each rayon task should take at least: enough to
/// amortise its scratch buffer, few enough to keep every thread busy.
fn per_task(chunks: usize) -> usize {
    (chunks / (4 * rayon::current_num_threads())).max(1)
}

/// A tensor `[batch, channels, ...]` seen as `batch * channels` planes of
/// `plane` contiguous values.
struct Planes {
    batch: usize,
    channels: usize,
    plane: usize,
}

#[derive(Clone, Copy)]
struct Statistics {
    mean: f32,
    variance: f32,
}

impl Planes {
    fn of(shape: &Shape) -> Self {
        let (batch, channels) = (shape[0], shape[1]);
        Planes {
            batch,
            channels,
            plane: shape.num_elements() / (batch * channels).max(1),
        }
    }

    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// The planes of channel `c`, one per image.
    fn of_channel<'a>(&self, data: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        (0..self.batch).map(move |b| &data[(b * self.channels + c) * self.plane..][..self.plane])
    }

    /// `f(c)` for every channel, channels in parallel.
    fn per_channel<T: Send>(&self, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        (0..self.channels).into_par_iter().map(f).collect()
    }

    /// Mean and biased variance per channel (two passes: a channel is small
    /// enough to stay in cache, and the second pass avoids the cancellation of
    /// `E[x^2] - E[x]^2`).
    fn statistics(&self, x: &[f32]) -> Vec<Statistics> {
        self.per_channel(|c| {
            let sum: f64 = self
                .of_channel(x, c)
                .map(|p| lane_sum(p, p, |v, _| v) as f64)
                .sum();
            let mean = (sum / self.count()) as f32;
            let squares: f64 = self
                .of_channel(x, c)
                .map(|p| lane_sum(p, p, |v, _| (v - mean) * (v - mean)) as f64)
                .sum();
            Statistics {
                mean,
                variance: (squares / self.count()) as f32,
            }
        })
    }

    /// `relu?(sum over k of scale_k[c] * x_k + shift_k[c])` plane by plane:
    /// BatchNorm's output for one input, and the join of a residual block for
    /// two.
    fn normalise<const N: usize, const RELU: bool>(&self, inputs: [Normalised; N]) -> Vec<f32> {
        let fill = |_: &mut (), index: usize, out: &mut [MaybeUninit<f32>]| {
            let at = inputs.map(|input| input.plane(self, index));
            write_sums::<N, RELU>(&at, out);
        };
        // SAFETY: every value of each plane is written.
        unsafe {
            par_fill(
                self.len(),
                self.plane,
                planes_per_task(self.plane),
                || (),
                fill,
            )
        }
    }

    fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    /// The backward of [`normalise`](Self::normalise) in two passes: per
    /// channel the sums of the gradient `g` that reaches the sum (zero where
    /// the ReLU was off) and of `g * (x_k - mean_k)`, then each
    /// `dx_k = a*g + b + k*x_k` with per-channel coefficients from those sums
    /// (the usual BatchNorm formula, regrouped). The ReLU's mask is worked out
    /// again from the inputs, so the output need not be kept.
    fn normalise_backward<const N: usize, const RELU: bool>(
        &self,
        inputs: [Saved; N],
        dy: &[f32],
    ) -> [ParamsGrad; N] {
        let sums = self.per_channel(|c| {
            let mut gate = Vec::new();
            (0..self.batch)
                .map(|b| {
                    let index = b * self.channels + c;
                    let at = inputs.map(|input| input.normalised.plane(self, index));
                    let g = gated::<N, RELU>(&at, self.plane_of(dy, index), &mut gate);
                    let centred: [f32; N] = std::array::from_fn(|k| {
                        let mean = inputs[k].mean[c];
                        lane_sum(g, at[k].x, |g, x| g * (x - mean))
                    });
                    (lane_sum(g, g, |g, _| g), centred)
                })
                .fold((0.0, [0.0; N]), |(g, centred), (plane_g, plane_centred)| {
                    let centred = std::array::from_fn(|k| centred[k] + plane_centred[k] as f64);
                    (g + plane_g as f64, centred)
                })
        });
        let coefficients: [_; N] =
            std::array::from_fn(|k| InputGrad::coefficients(&inputs[k], k, &sums, self.count()));
        let fill = |gate: &mut Vec<f32>, index: usize, outs: [&mut [MaybeUninit<f32>]; N]| {
            let c = index % self.channels;
            let at = inputs.map(|input| input.normalised.plane(self, index));
            let g = gated::<N, RELU>(&at, self.plane_of(dy, index), gate);
            for (k, out) in outs.into_iter().enumerate() {
                let (a, b, kx, x) = (
                    coefficients[k].a[c],
                    coefficients[k].b[c],
                    coefficients[k].x[c],
                    at[k].x,
                );
                for ((o, &g), &x) in out.iter_mut().zip(g).zip(x) {
                    o.write(a * g + b + kx * x);
                }
            }
        };
        // SAFETY: every value of each plane is written, in each output.
        let x_grads = unsafe {
            par_fill_n(
                self.len(),
                self.plane,
                planes_per_task(self.plane),
                Vec::new,
                fill,
            )
        };
        let mut coefficients = coefficients.into_iter();
        x_grads.map(|x| {
            let k = coefficients
                .next()
                .expect("one set of coefficients per input");
            ParamsGrad {
                x,
                gamma: k.gamma,
                beta: k.beta,
            }
        })
    }

    fn plane_of<'a>(&self, data: &'a [f32], index: usize) -> &'a [f32] {
        &data[index * self.plane..][..self.plane]
    }
}

/// A BatchNorm's input with what normalises it: the normalised value of `x`
/// in channel `c` is `scale[c] * x + shift[c]`.
#[derive(Clone, Copy)]
struct Normalised<'a> {
    x: &'a [f32],
    scale: &'a [f32],
    shift: &'a [f32],
}

impl<'a> Normalised<'a> {
    /// Plane `index` (image `index / channels`, channel `index % channels`).
    fn plane(&self, planes: &Planes, index: usize) -> PlaneOf<'a> {
        let c = index % planes.channels;
        PlaneOf {
            x: planes.plane_of(self.x, index),
            scale: self.scale[c],
            shift: self.shift[c],
        }
    }
}

/// One plane of a [`Normalised`] input, with its channel's coefficients.
#[derive(Clone, Copy)]
struct PlaneOf<'a> {
    x: &'a [f32],
    scale: f32,
    shift: f32,
}

/// What a BatchNorm's backward needs of its forward.
#[derive(Clone, Copy)]
struct Saved<'a> {
    normalised: Normalised<'a>,
    gamma: &'a [f32],
    mean: &'a [f32],
    variance: &'a [f32],
    epsilon: f64,
}

/// The gradients of a BatchNorm's input, `gamma` and `beta`.
struct ParamsGrad {
    x: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// Per channel, `dx = a*g + b + x*x_k` and the parameters' gradients.
struct InputGrad {
    a: Vec<f32>,
    b: Vec<f32>,
    x: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl InputGrad {
    /// Input `k`'s coefficients from the per-channel sums of `g` and of
    /// `g * (x_k - mean_k)` over `n` values.
    fn coefficients<const N: usize>(
        input: &Saved,
        k: usize,
        sums: &[(f64, [f64; N])],
        n: f64,
    ) -> Self {
        let channels = sums.len();
        let mut grad = InputGrad {
            a: Vec::with_capacity(channels),
            b: Vec::with_capacity(channels),
            x: Vec::with_capacity(channels),
            gamma: Vec::with_capacity(channels),
            beta: Vec::with_capacity(channels),
        };
        for (c, &(g_sum, centred)) in sums.iter().enumerate() {
            let centred = centred[k];
            let inv_std = 1.0 / (input.variance[c] as f64 + input.epsilon).sqrt();
            let scale = input.gamma[c] as f64 * inv_std;
            let x_coef = -scale * inv_std * inv_std * centred / n;
            grad.gamma.push((centred * inv_std) as f32);
            grad.beta.push(g_sum as f32);
            grad.a.push(scale as f32);
            grad.b
                .push((-scale * g_sum / n - x_coef * input.mean[c] as f64) as f32);
            grad.x.push(x_coef as f32);
        }
        grad
    }
}

/// `out = relu?(sum over k of scale_k * x_k + shift_k)` over one plane. The
/// forward and the backward's ReLU mask both come from here, so they agree
/// to the bit. Written out for one and for two inputs (BatchNorm and a
/// residual join) as plain zipped loops, which the compiler vectorises.
#[inline(always)]
fn write_sums<const N: usize, const RELU: bool>(at: &[PlaneOf; N], out: &mut [MaybeUninit<f32>]) {
    let relu = |sum: f32| if RELU { sum.max(0.0) } else { sum };
    match at.as_slice() {
        [p] => {
            for (o, &x) in out.iter_mut().zip(p.x) {
                o.write(relu(p.scale * x + p.shift));
            }
        }
        [p, q] => {
            for ((o, &x), &y) in out.iter_mut().zip(p.x).zip(q.x) {
                o.write(relu((p.scale * x + p.shift) + (q.scale * y + q.shift)));
            }
        }
        _ => unreachable!("BatchNorm sums one or two inputs"),
    }
}

/// The gradient that reaches the sum of a plane: `dy` itself, or, through a
/// ReLU, `dy` with zeros where the ReLU was off, written to `gate`. (A
/// separate pass: fused into the sums, the compiler made the mask, which is
/// random from value to value, into branches, and the backward ran 2.5x
/// slower.)
#[inline(always)]
fn gated<'a, const N: usize, const RELU: bool>(
    at: &[PlaneOf; N],
    dy: &'a [f32],
    gate: &'a mut Vec<f32>,
) -> &'a [f32] {
    if !RELU {
        return dy;
    }
    gate.clear();
    gate.reserve(dy.len());
    write_sums::<N, false>(at, &mut gate.spare_capacity_mut()[..dy.len()]);
    // SAFETY: `write_sums` wrote one value per value of `dy`.
    unsafe { gate.set_len(dy.len()) };
    // Select by mask, not by branch.
    for (g, &dy) in gate.iter_mut().zip(dy) {
        let keep = u32::from(*g > 0.0).wrapping_neg();
        *g = f32::from_bits(dy.to_bits() & keep);
    }
    gate
}

/// A matrix operand for [`matmul`]: values with the distance between rows
/// and between columns, so swapping the two reads a row-major matrix
/// transposed.
struct Operand<'a> {
    values: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Operand<'a> {
    /// Row-major, `cols` columns.
    fn rows(values: &'a [f32], cols: usize) -> Self {
        Operand {
            values,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix of `cols` columns.
    fn transposed(values: &'a [f32], cols: usize) -> Self {
        Operand {
            values,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// Whether a `rows x cols` matrix read this way stays inside `values`.
    fn spans(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.values.len()
    }
}

/// `dst (m x n, row-major) = [dst +] lhs (m x k) * rhs (k x n)`.
fn matmul(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    (lhs, rhs): (Operand, Operand),
    threads: Parallelism,
) {
    assert!(dst.len() >= m * n && lhs.spans(m, k) && rhs.spans(k, n));
    // SAFETY: the assertion keeps every index gemm reads or writes in bounds.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            threads,
        );
    }
}

/// Values per task for element-wise work: big enough to amortise a task.
const ELEMENTWISE_CHUNK: usize = 32_768;

/// Planes of `plane` values per task for element-wise work.
fn planes_per_task(plane: usize) -> usize {
    (ELEMENTWISE_CHUNK / plane.max(1)).max(1)
}

/// Average pooling over `kernel` windows that tile each plane exactly.
struct Tiles {
    /// `batch * channels`.
    planes: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    out_height: usize,
    out_width: usize,
}

impl Tiles {
    /// `None` unless `kernel` windows tile a `[batch, channels, height,
    /// width]` input exactly.
    fn new(shape: &Shape, kernel: [usize; 2]) -> Option<Self> {
        let tiles = shape.num_dims() == 4
            && kernel
                .iter()
                .zip([shape[2], shape[3]])
                .all(|(&k, side)| k > 0 && side % k == 0);
        tiles.then(|| Tiles {
            planes: shape[0] * shape[1],
            height: shape[2],
            width: shape[3],
            kernel,
            out_height: shape[2] / kernel[0],
            out_width: shape[3] / kernel[1],
        })
    }

    fn output_shape(&self, input: &Shape) -> Shape {
        Shape::new([input[0], input[1], self.out_height, self.out_width])
    }

    fn plane(&self) -> usize {
        self.height * self.width
    }

    fn output_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Each window's share of its output.
    fn scale(&self) -> f32 {
        1.0 / (self.kernel[0] * self.kernel[1]) as f32
    }

    fn min_planes(&self) -> usize {
        planes_per_task(self.plane())
    }

    /// Row by row: the `kh` input rows of a band are added up first (whole
    /// rows, which vectorises), then each window's `kw` columns.
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let [kh, kw] = self.kernel;
        let (plane, out_plane, scale) = (self.plane(), self.output_plane(), self.scale());
        let fill = |band_sum: &mut Vec<f32>, p: usize, out: &mut [MaybeUninit<f32>]| {
            let input = &x[p * plane..][..plane];
            let bands = input.chunks_exact(kh * self.width);
            for (band, out) in bands.zip(out.chunks_exact_mut(self.out_width)) {
                let mut rows = band.chunks_exact(self.width);
                band_sum.clear();
                band_sum.extend_from_slice(rows.next().expect("kernel height > 0"));
                for row in rows {
                    band_sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
                }
                for (o, window) in out.iter_mut().zip(band_sum.chunks_exact(kw)) {
                    o.write(window.iter().sum::<f32>() * scale);
                }
            }
        };
        // SAFETY: every output value of the plane is written.
        unsafe {
            par_fill(
                self.planes * out_plane,
                out_plane,
                self.min_planes(),
                Vec::new,
                fill,
            )
        }
    }

    /// Each output row's gradient, spread over one input row, is copied to
    /// the `kh` input rows of its band.
    fn backward(&self, grad: &[f32]) -> Vec<f32> {
        let [kh, kw] = self.kernel;
        let (plane, out_plane, scale) = (self.plane(), self.output_plane(), self.scale());
        let fill = |_: &mut (), p: usize, dx: &mut [MaybeUninit<f32>]| {
            let grad = &grad[p * out_plane..][..out_plane];
            let bands = dx.chunks_exact_mut(kh * self.width);
            for (band, grad) in bands.zip(grad.chunks_exact(self.out_width)) {
                let (first, rest) = band.split_at_mut(self.width);
                let first = write_runs(first, kw, |window| grad[window] * scale);
                for row in rest.chunks_exact_mut(self.width) {
                    row.iter_mut().zip(&*first).for_each(|(d, &v)| {
                        d.write(v);
                    });
                }
            }
        };
        // SAFETY: every input position of the plane is written.
        unsafe { par_fill(self.planes * plane, plane, self.min_planes(), || (), fill) }
    }
}

/// A convolution's weight and bias gradients (or a partial sum of them).
struct ParamGrads {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl ParamGrads {
    fn add(mut self, other: ParamGrads) -> ParamGrads {
        self.weight
            .iter_mut()
            .zip(other.weight)
            .for_each(|(s, v)| *s += v);
        self.bias
            .iter_mut()
            .zip(other.bias)
            .for_each(|(s, v)| *s += v);
        self
    }
}

/// The sizes of one convolution, with the output size taken from its gradient.
struct ConvGeometry {
    images: usize,
    channels_in: usize,
    height: usize,
    width: usize,
    channels_out: usize,
    out_height: usize,
    out_width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// Padding before the first row and column.
    pad: [usize; 2],
}

impl ConvGeometry {
    fn new(x: &Shape, weight: &Shape, output: &Shape, options: &ConvOptions<2>) -> Self {
        ConvGeometry {
            images: x[0],
            channels_in: x[1],
            height: x[2],
            width: x[3],
            channels_out: weight[0],
            out_height: output[2],
            out_width: output[3],
            kernel: [weight[2], weight[3]],
            stride: options.stride,
            dilation: options.dilation,
            pad: [options.padding[0].0, options.padding[1].0],
        }
    }

    fn image_len(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    fn taps(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// Images run in parallel, one per thread, when there are enough of
    /// them; otherwise (predicting one image) the matrix products share the
    /// threads.
    fn gemm_threads(&self) -> Parallelism {
        if self.images < rayon::current_num_threads() {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        }
    }

    /// `Y[o, p] = b[o] + sum over taps of W[o, tap] * col[tap, p]`, image by image.
    fn forward(&self, x: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f32> {
        let (taps, positions, out) = (self.taps(), self.positions(), self.channels_out);
        let images = self.images;
        let fill = |col: &mut Vec<f32>, image: usize, y: &mut [MaybeUninit<f32>]| {
            self.im2col(self.image(x, image), col);
            matmul(
                write_runs(y, positions, |o| bias[o]),
                [out, positions, taps],
                true,
                (Operand::rows(weight, taps), Operand::rows(col, positions)),
                self.gemm_threads(),
            );
        };
        let scratch = || vec![0f32; taps * positions];
        // SAFETY: `write_runs` writes the whole image's output.
        unsafe {
            par_fill(
                images * out * positions,
                out * positions,
                per_task(images),
                scratch,
                fill,
            )
        }
    }

    fn image<'a>(&self, x: &'a [f32], image: usize) -> &'a [f32] {
        &x[image * self.image_len()..][..self.image_len()]
    }

    fn output_grad<'a>(&self, dy: &'a [f32], image: usize) -> &'a [f32] {
        let len = self.channels_out * self.positions();
        &dy[image * len..][..len]
    }

    /// One image's input gradient, `dX = col2im(W^T dY)`: each tap's share of
    /// the output gradient goes back to the input pixel it read. `col` is
    /// scratch space.
    fn image_input_grad(
        &self,
        weight: &[f32],
        dy: &[f32],
        col: &mut [f32],
        dx: &mut [MaybeUninit<f32>],
    ) {
        let (taps, positions, out) = (self.taps(), self.positions(), self.channels_out);
        matmul(
            col,
            [taps, positions, out],
            false,
            (
                Operand::transposed(weight, taps),
                Operand::rows(dy, positions),
            ),
            self.gemm_threads(),
        );
        self.col2im(col, write_runs(dx, dx.len(), |_| 0.0));
    }

    /// Adds one image's share to `dW[o, tap] = sum of dY[o, p] * col[tap, p]`
    /// and `db[o] = sum of dY[o, p]`; `col` is scratch space.
    fn add_param_grads(&self, x: &[f32], dy: &[f32], col: &mut [f32], sums: &mut ParamGrads) {
        let (taps, positions, out) = (self.taps(), self.positions(), self.channels_out);
        self.im2col(x, col);
        matmul(
            &mut sums.weight,
            [out, taps, positions],
            true,
            (
                Operand::rows(dy, positions),
                Operand::transposed(col, positions),
            ),
            self.gemm_threads(),
        );
        for (b, g) in sums.bias.iter_mut().zip(dy.chunks_exact(positions)) {
            *b += lane_sum(g, g, |g, _| g);
        }
    }

    fn zero_param_grads(&self) -> ParamGrads {
        ParamGrads {
            weight: vec![0.0; self.channels_out * self.taps()],
            bias: vec![0.0; self.channels_out],
        }
    }

    fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.taps() * self.positions()]
    }

    fn input_grad(&self, weight: &[f32], dy: &[f32]) -> Vec<f32> {
        let images = self.images;
        let fill = |col: &mut Vec<f32>, image: usize, dx: &mut [MaybeUninit<f32>]| {
            self.image_input_grad(weight, self.output_grad(dy, image), col, dx);
        };
        // SAFETY: `image_input_grad` writes the whole image's gradient.
        unsafe {
            par_fill(
                images * self.image_len(),
                self.image_len(),
                per_task(images),
                || self.scratch(),
                fill,
            )
        }
    }

    /// The weight and bias gradients, summed over images: one partial sum
    /// per task, added up at the end.
    fn param_grads(&self, x: &[f32], dy: &[f32]) -> ParamGrads {
        let images = self.images;
        (0..images)
            .into_par_iter()
            .with_min_len(per_task(images))
            .fold(
                || (self.zero_param_grads(), self.scratch()),
                |(mut sums, mut col), image| {
                    let (x, dy) = (self.image(x, image), self.output_grad(dy, image));
                    self.add_param_grads(x, dy, &mut col, &mut sums);
                    (sums, col)
                },
            )
            .map(|(sums, _)| sums)
            .reduce(|| self.zero_param_grads(), ParamGrads::add)
    }

    /// Input, weight and bias gradients in one pass over the images, so each
    /// image's output gradient is read while it is in cache.
    fn all_grads(&self, x: &[f32], weight: &[f32], dy: &[f32]) -> (Vec<f32>, ParamGrads) {
        let images = self.images;
        let len = images * self.image_len();
        let mut x_grad = Vec::with_capacity(len);
        let sums = x_grad.spare_capacity_mut()[..len]
            .par_chunks_mut(self.image_len())
            .enumerate()
            .with_min_len(per_task(images))
            .fold(
                || (self.zero_param_grads(), self.scratch()),
                |(mut sums, mut col), (image, dx)| {
                    let (x, dy) = (self.image(x, image), self.output_grad(dy, image));
                    self.add_param_grads(x, dy, &mut col, &mut sums);
                    self.image_input_grad(weight, dy, &mut col, dx);
                    (sums, col)
                },
            )
            .map(|(sums, _)| sums)
            .reduce(|| self.zero_param_grads(), ParamGrads::add);
        // SAFETY: `image_input_grad` wrote every image's gradient.
        unsafe { x_grad.set_len(len) };
        (x_grad, sums)
    }

    /// One image's im2col matrix, `taps x positions`: row `(c, i, j)` holds
    /// the input value each output position sees through kernel tap `(i, j)`
    /// of channel `c`, zero where that falls in the padding.
    fn im2col(&self, image: &[f32], col: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let positions = self.positions();
        for c in 0..self.channels_in {
            let channel = &image[c * self.height * self.width..][..self.height * self.width];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &mut col[((c * kh + i) * kw + j) * positions..][..positions];
                    self.fill_tap(channel, [i, j], row);
                }
            }
        }
    }

    /// The adjoint of [`im2col`](Self::im2col): adds each row of `col` back
    /// onto the input positions it was read from (`image` starts at zero).
    fn col2im(&self, col: &[f32], image: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let positions = self.positions();
        for c in 0..self.channels_in {
            let channel = &mut image[c * self.height * self.width..][..self.height * self.width];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &col[((c * kh + i) * kw + j) * positions..][..positions];
                    self.add_tap(row, [i, j], channel);
                }
            }
        }
    }

    /// The input row that output row `oh` reads through kernel row `i`, if
    /// it is inside the image.
    fn input_row(&self, oh: usize, i: usize) -> Option<usize> {
        let ih = (oh * self.stride[0] + i * self.dilation[0]).wrapping_sub(self.pad[0]);
        (ih < self.height).then_some(ih)
    }

    /// The output columns that read inside the image through kernel column
    /// `j`, and the input column the first of them reads.
    fn columns(&self, j: usize) -> Option<(std::ops::Range<usize>, usize)> {
        let [sw, dw, pw] = [self.stride[1], self.dilation[1], self.pad[1]];
        let (from, to) = valid_range(j * dw, pw, sw, self.width, self.out_width);
        // `from < to` makes `from * sw + j * dw >= pw`.
        (from < to).then(|| (from..to, from * sw + j * dw - pw))
    }

    fn add_tap(&self, row: &[f32], [i, j]: [usize; 2], channel: &mut [f32]) {
        let sw = self.stride[1];
        let Some((span, first)) = self.columns(j) else {
            return;
        };
        for oh in 0..self.out_height {
            let Some(ih) = self.input_row(oh, i) else {
                continue;
            };
            let grads = &row[oh * self.out_width..][span.clone()];
            let input = &mut channel[ih * self.width..][..self.width];
            if sw == 1 {
                for (x, g) in input[first..first + grads.len()].iter_mut().zip(grads) {
                    *x += g;
                }
            } else {
                for (k, g) in grads.iter().enumerate() {
                    input[first + k * sw] += g;
                }
            }
        }
    }

    fn fill_tap(&self, channel: &[f32], [i, j]: [usize; 2], row: &mut [f32]) {
        let sw = self.stride[1];
        let columns = self.columns(j);
        for (oh, out) in row.chunks_exact_mut(self.out_width).enumerate() {
            let (Some(ih), Some((span, first))) = (self.input_row(oh, i), columns.clone()) else {
                out.fill(0.0);
                continue;
            };
            let input = &channel[ih * self.width..][..self.width];
            out[..span.start].fill(0.0);
            out[span.end..].fill(0.0);
            let inside = &mut out[span];
            if sw == 1 {
                inside.copy_from_slice(&input[first..first + inside.len()]);
            } else {
                for (k, o) in inside.iter_mut().enumerate() {
                    *o = input[first + k * sw];
                }
            }
        }
    }
}

/// `[batch, out channels, out height, out width]` of a convolution.
/// `None` when the kernel does not fit in the padded input.
fn output_shape(x: &Shape, weight: &Shape, options: &ConvOptions<2>) -> Option<Shape> {
    let side = |d: usize| {
        let padded = x[2 + d] + options.padding[d].0 + options.padding[d].1;
        let reach = options.dilation[d] * weight[2 + d].checked_sub(1)? + 1;
        Some(padded.checked_sub(reach)? / options.stride[d] + 1)
    };
    Some(Shape::new([x[0], weight[0], side(0)?, side(1)?]))
}

/// The output columns `from..to` whose input column `o * stride + offset - pad`
/// lies inside `0..width`.
fn valid_range(
    offset: usize,
    pad: usize,
    stride: usize,
    width: usize,
    out_width: usize,
) -> (usize, usize) {
    let from = pad.saturating_sub(offset).div_ceil(stride).min(out_width);
    let to = (width + pad)
        .saturating_sub(offset)
        .div_ceil(stride)
        .clamp(from, out_width);
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::valid_range;

    #[test]
    fn valid_range_keeps_only_columns_inside_the_image() {
        // 3x3, pad 1, stride 1 on a 28-wide image: tap 0 skips column 0,
        // tap 2 skips the last.
        assert_eq!(valid_range(0, 1, 1, 28, 28), (1, 28));
        assert_eq!(valid_range(1, 1, 1, 28, 28), (0, 28));
        assert_eq!(valid_range(2, 1, 1, 28, 28), (0, 27));
        // Stride 2, pad 1, width 5 (out 3): input columns -1, 1, 3 for tap 0.
        assert_eq!(valid_range(0, 1, 2, 5, 3), (1, 3));
        // Input columns 1, 3, 5 for tap 2: the last falls outside.
        assert_eq!(valid_range(2, 1, 2, 5, 3), (0, 2));
    }
}
