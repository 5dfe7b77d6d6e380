//! BatchNorm's GPU kernels, for one input (plain or through a ReLU) or two
//! (a residual block's join, `relu(BN(x) + BN'(skip))`), as the CPU
//! kernels compute them: the same formulas, in `f32`.
//!
//! Inputs are `[batch, channels, height, width]` with any strides (Burn's
//! own convolution writes channels-last); outputs are contiguous. A
//! training forward and a backward are one launch each: one cube per
//! channel reduces over the channel's values and then writes them.

use cubecl::prelude::*;

use super::reduce::{UNITS, cube_sum};

/// Where value `i` of channel `c` (`i` counting image by image, row by row)
/// sits in `t`.
#[cube]
fn at(t: &Tensor<f32>, c: usize, i: usize, plane: usize, width: usize) -> usize {
    let n = i / plane;
    let s = i % plane;
    n * t.stride(0) + c * t.stride(1) + (s / width) * t.stride(2) + (s % width) * t.stride(3)
}

/// Where value `i` of channel `c` sits in a contiguous `[batch, channels, ..]`
/// output.
#[cube]
fn out_at(c: usize, i: usize, plane: usize, channels: usize) -> usize {
    let n = i / plane;
    (n * channels + c) * plane + i % plane
}

/// BatchNorm as `x * scale + shift`: scale and shift of channel `c`. The
/// forward and the backward (for the ReLU's mask) both take them from here.
#[cube]
pub(crate) fn affine(
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    mean: f32,
    variance: f32,
    epsilon: f32,
    c: usize,
) -> (f32, f32) {
    let scale = gamma[c] / f32::sqrt(variance + epsilon);
    (scale, beta[c] - mean * scale)
}

/// The mean and biased variance of channel `c` of `x` (two passes: the
/// second avoids the cancellation of `E[x^2] - E[x]^2`).
#[cube]
fn channel_stats(
    x: &Tensor<f32>,
    shared: &mut Shared<[f32]>,
    c: usize,
    count: usize,
    plane: usize,
    width: usize,
) -> (f32, f32) {
    let mut sum = 0.0f32;
    let mut i = UNIT_POS as usize;
    while i < count {
        sum += x[at(x, c, i, plane, width)];
        i += UNITS;
    }
    let mean = cube_sum(shared, sum) / f32::cast_from(count);
    let mut squares = 0.0f32;
    let mut i = UNIT_POS as usize;
    while i < count {
        let d = x[at(x, c, i, plane, width)] - mean;
        squares += d * d;
        i += UNITS;
    }
    (mean, cube_sum(shared, squares) / f32::cast_from(count))
}

/// Training forward, one cube per channel: the statistics of `x` (and of
/// `skip` if `join`), then `relu?(BN(x) [+ BN'(skip)])`.
#[cube(launch)]
pub(crate) fn norm_train_kernel(
    x: &Tensor<f32>,
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    skip: &Tensor<f32>,
    skip_gamma: &Tensor<f32>,
    skip_beta: &Tensor<f32>,
    output: &mut Tensor<f32>,
    mean_out: &mut Tensor<f32>,
    variance_out: &mut Tensor<f32>,
    skip_mean_out: &mut Tensor<f32>,
    skip_variance_out: &mut Tensor<f32>,
    epsilon: f32,
    skip_epsilon: f32,
    #[comptime] join: bool,
    #[comptime] relu: bool,
) {
    let c = CUBE_POS;
    let channels = x.shape(1);
    let plane = x.shape(2) * x.shape(3);
    let width = x.shape(3);
    let count = x.shape(0) * plane;
    let mut shared = Shared::<[f32]>::new_slice(UNITS);
    let (mean, variance) = channel_stats(x, &mut shared, c, count, plane, width);
    let (scale, shift) = affine(gamma, beta, mean, variance, epsilon, c);
    let mut skip_scale = 0.0f32;
    let mut skip_shift = 0.0f32;
    if comptime![join] {
        let (skip_mean, skip_variance) = channel_stats(skip, &mut shared, c, count, plane, width);
        let (s, t) = affine(
            skip_gamma,
            skip_beta,
            skip_mean,
            skip_variance,
            skip_epsilon,
            c,
        );
        skip_scale = s;
        skip_shift = t;
        if UNIT_POS == 0 {
            skip_mean_out[c] = skip_mean;
            skip_variance_out[c] = skip_variance;
        }
    }
    if UNIT_POS == 0 {
        mean_out[c] = mean;
        variance_out[c] = variance;
    }
    let mut i = UNIT_POS as usize;
    while i < count {
        let mut y = x[at(x, c, i, plane, width)] * scale + shift;
        if comptime![join] {
            y += skip[at(skip, c, i, plane, width)] * skip_scale + skip_shift;
        }
        if comptime![relu] {
            y = max(y, 0.0f32);
        }
        output[out_at(c, i, plane, channels)] = y;
        i += UNITS;
    }
}

/// Evaluation (given statistics), one unit per output value:
/// `relu?(BN(x) [+ BN'(skip)])`.
#[cube(launch)]
pub(crate) fn norm_eval_kernel(
    x: &Tensor<f32>,
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    skip: &Tensor<f32>,
    skip_gamma: &Tensor<f32>,
    skip_beta: &Tensor<f32>,
    mean: &Tensor<f32>,
    variance: &Tensor<f32>,
    skip_mean: &Tensor<f32>,
    skip_variance: &Tensor<f32>,
    output: &mut Tensor<f32>,
    epsilon: f32,
    skip_epsilon: f32,
    #[comptime] join: bool,
    #[comptime] relu: bool,
) {
    let index = ABSOLUTE_POS;
    if index >= output.len() {
        terminate!();
    }
    let channels = x.shape(1);
    let plane = x.shape(2) * x.shape(3);
    let width = x.shape(3);
    let c = (index / plane) % channels;
    let i = (index / (plane * channels)) * plane + index % plane;
    let (scale, shift) = affine(gamma, beta, mean[c], variance[c], epsilon, c);
    let mut y = x[at(x, c, i, plane, width)] * scale + shift;
    if comptime![join] {
        let (s, t) = affine(
            skip_gamma,
            skip_beta,
            skip_mean[c],
            skip_variance[c],
            skip_epsilon,
            c,
        );
        y += skip[at(skip, c, i, plane, width)] * s + t;
    }
    if comptime![relu] {
        y = max(y, 0.0f32);
    }
    output[index] = y;
}

/// The gradient that reaches the BatchNorm(s) at value `i`: `dy`, or zero
/// where the ReLU was off (its input worked out again from the same
/// coefficients as the forward's).
#[cube]
#[allow(clippy::too_many_arguments)]
fn gated(
    x: &Tensor<f32>,
    skip: &Tensor<f32>,
    dy: &Tensor<f32>,
    coefficients: (f32, f32, f32, f32),
    c: usize,
    i: usize,
    shape: (usize, usize),
    #[comptime] join: bool,
    #[comptime] relu: bool,
) -> f32 {
    let (plane, width) = shape;
    let (scale, shift, skip_scale, skip_shift) = coefficients;
    let g = dy[at(dy, c, i, plane, width)];
    let mut gate = 1.0f32;
    if comptime![relu] {
        let mut y = x[at(x, c, i, plane, width)] * scale + shift;
        if comptime![join] {
            y += skip[at(skip, c, i, plane, width)] * skip_scale + skip_shift;
        }
        if y <= 0.0f32 {
            gate = 0.0f32;
        }
    }
    g * gate
}

/// One input's gradient coefficients for channel `c`, from the sums of the
/// gated gradient `g` and of `g * (x - mean)` over `count` values:
/// `(a, b, k, dgamma)` with `dx = a * g + b + k * x` (the usual BatchNorm
/// formula, regrouped as the CPU kernel has it).
#[cube]
fn coefficients(
    gamma: f32,
    mean: f32,
    variance: f32,
    epsilon: f32,
    sums: (f32, f32),
    count: usize,
) -> (f32, f32, f32, f32) {
    let (g_sum, centred) = sums;
    let n = f32::cast_from(count);
    let inv_std = 1.0f32 / f32::sqrt(variance + epsilon);
    let scale = gamma * inv_std;
    let k = -scale * inv_std * inv_std * centred / n;
    (scale, -scale * g_sum / n - k * mean, k, centred * inv_std)
}

/// Backward, one cube per channel: the sums of the gated gradient and of
/// its products with the centred inputs, then each input's gradient and
/// the `gamma` and `beta` gradients.
#[cube(launch)]
pub(crate) fn norm_backward_kernel(
    x: &Tensor<f32>,
    gamma: &Tensor<f32>,
    beta: &Tensor<f32>,
    skip: &Tensor<f32>,
    skip_gamma: &Tensor<f32>,
    skip_beta: &Tensor<f32>,
    mean: &Tensor<f32>,
    variance: &Tensor<f32>,
    skip_mean: &Tensor<f32>,
    skip_variance: &Tensor<f32>,
    dy: &Tensor<f32>,
    dx: &mut Tensor<f32>,
    dskip: &mut Tensor<f32>,
    dgamma: &mut Tensor<f32>,
    dbeta: &mut Tensor<f32>,
    skip_dgamma: &mut Tensor<f32>,
    skip_dbeta: &mut Tensor<f32>,
    epsilon: f32,
    skip_epsilon: f32,
    #[comptime] join: bool,
    #[comptime] relu: bool,
) {
    let c = CUBE_POS;
    let channels = x.shape(1);
    let plane = x.shape(2) * x.shape(3);
    let width = x.shape(3);
    let count = x.shape(0) * plane;
    let (mean, variance) = (mean[c], variance[c]);
    let (scale, shift) = affine(gamma, beta, mean, variance, epsilon, c);
    let mut skip_m = 0.0f32;
    let mut skip_v = 0.0f32;
    let mut skip_scale = 0.0f32;
    let mut skip_shift = 0.0f32;
    if comptime![join] {
        skip_m = skip_mean[c];
        skip_v = skip_variance[c];
        let (s, t) = affine(skip_gamma, skip_beta, skip_m, skip_v, skip_epsilon, c);
        skip_scale = s;
        skip_shift = t;
    }
    let affines = (scale, shift, skip_scale, skip_shift);
    let shape = (plane, width);
    let mut g_sum = 0.0f32;
    let mut centred = 0.0f32;
    let mut skip_centred = 0.0f32;
    let mut i = UNIT_POS as usize;
    while i < count {
        let g = gated(x, skip, dy, affines, c, i, shape, join, relu);
        g_sum += g;
        centred += g * (x[at(x, c, i, plane, width)] - mean);
        if comptime![join] {
            skip_centred += g * (skip[at(skip, c, i, plane, width)] - skip_m);
        }
        i += UNITS;
    }
    let mut shared = Shared::<[f32]>::new_slice(UNITS);
    let g_sum = cube_sum(&mut shared, g_sum);
    let centred = cube_sum(&mut shared, centred);
    let (a, b, k, gamma_grad) =
        coefficients(gamma[c], mean, variance, epsilon, (g_sum, centred), count);
    let mut sa = 0.0f32;
    let mut sb = 0.0f32;
    let mut sk = 0.0f32;
    if comptime![join] {
        let skip_centred = cube_sum(&mut shared, skip_centred);
        let sums = (g_sum, skip_centred);
        let (a, b, k, gamma_grad) =
            coefficients(skip_gamma[c], skip_m, skip_v, skip_epsilon, sums, count);
        sa = a;
        sb = b;
        sk = k;
        if UNIT_POS == 0 {
            skip_dgamma[c] = gamma_grad;
            skip_dbeta[c] = g_sum;
        }
    }
    if UNIT_POS == 0 {
        dgamma[c] = gamma_grad;
        dbeta[c] = g_sum;
    }
    let mut i = UNIT_POS as usize;
    while i < count {
        let g = gated(x, skip, dy, affines, c, i, shape, join, relu);
        let to = out_at(c, i, plane, channels);
        dx[to] = a * g + b + k * x[at(x, c, i, plane, width)];
        if comptime![join] {
            dskip[to] = sa * g + sb + sk * skip[at(skip, c, i, plane, width)];
        }
        i += UNITS;
    }
}
