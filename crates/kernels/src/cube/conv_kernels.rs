//! Convolution's GPU kernels: the forward with its bias and ReLU in one
//! pass, and every gradient of the backward (input, weight, bias; through
//! the ReLU where one followed) in one more.
//!
//! Inputs are `[batch, channels, height, width]` (weights `[out, in,
//! kernel height, kernel width]`) with any strides; outputs are contiguous.
//! Each value is a direct sum over the taps that reach it, with no im2col
//! copy and no transposed operand: the work of a layer is one launch, where
//! Burn's stock convolution is a chain of copies, matrix products and
//! reductions.

use cubecl::prelude::*;

use super::reduce::{UNITS, cube_sum};

/// Where a convolution's taps fall: strides, leading paddings and
/// dilations, rows then columns.
#[derive(CubeLaunch, CubeType, Clone, Copy)]
pub(crate) struct Geometry {
    pub stride_y: u32,
    pub stride_x: u32,
    pub pad_y: u32,
    pub pad_x: u32,
    pub dilation_y: u32,
    pub dilation_x: u32,
}

/// Where value `[a, b, c, d]` of the rank-4 `t` sits, whatever its strides.
#[cube]
fn at(t: &Tensor<f32>, a: usize, b: usize, c: usize, d: usize) -> usize {
    a * t.stride(0) + b * t.stride(1) + c * t.stride(2) + d * t.stride(3)
}

/// The input row (or column) that output position `o` reads through tap
/// `k`, and whether it is inside the input of `length` (not padding).
#[cube]
fn source(
    o: usize,
    k: usize,
    stride: u32,
    pad: u32,
    dilation: u32,
    length: usize,
) -> (usize, bool) {
    let position = o * usize::cast_from(stride) + k * usize::cast_from(dilation);
    let pad = usize::cast_from(pad);
    let inside = position >= pad && position - pad < length;
    let mut at = 0usize;
    if inside {
        at = position - pad;
    }
    (at, inside)
}

/// The output row (or column) whose tap `k` reads input position `i`, and
/// whether there is one (on the stride's grid and inside the output of
/// `length`).
#[cube]
fn target(
    i: usize,
    k: usize,
    stride: u32,
    pad: u32,
    dilation: u32,
    length: usize,
) -> (usize, bool) {
    let position = i + usize::cast_from(pad);
    let offset = k * usize::cast_from(dilation);
    let stride = usize::cast_from(stride);
    let mut o = 0usize;
    let mut hit = false;
    if position >= offset {
        let along = position - offset;
        let candidate = along / stride;
        if candidate * stride == along && candidate < length {
            o = candidate;
            hit = true;
        }
    }
    (o, hit)
}

/// Forward, one unit per output value:
/// `relu?(bias[o] + sum over (i, ky, kx) of weight * x)`.
#[cube(launch)]
pub(crate) fn conv_forward_kernel(
    x: &Tensor<f32>,
    weight: &Tensor<f32>,
    bias: &Tensor<f32>,
    output: &mut Tensor<f32>,
    g: Geometry,
    #[comptime] relu: bool,
) {
    let index = ABSOLUTE_POS;
    if index >= output.len() {
        terminate!();
    }
    let (out_h, out_w) = (output.shape(2), output.shape(3));
    let plane = out_h * out_w;
    let ox = index % out_w;
    let oy = (index / out_w) % out_h;
    let o = (index / plane) % output.shape(1);
    let n = index / (plane * output.shape(1));
    let mut sum = bias[o * bias.stride(0)];
    for i in 0..x.shape(1) {
        for ky in 0..weight.shape(2) {
            let (y, row_inside) = source(oy, ky, g.stride_y, g.pad_y, g.dilation_y, x.shape(2));
            if row_inside {
                for kx in 0..weight.shape(3) {
                    let (col, inside) =
                        source(ox, kx, g.stride_x, g.pad_x, g.dilation_x, x.shape(3));
                    if inside {
                        sum += x[at(x, n, i, y, col)] * weight[at(weight, o, i, ky, kx)];
                    }
                }
            }
        }
    }
    if comptime![relu] {
        sum = max(sum, 0.0f32);
    }
    output[index] = sum;
}

/// The gradient reaching output value `[n, o, oy, ox]`: `dy`, or zero
/// where the ReLU that followed the convolution was off.
#[cube]
// The comptime `if` stays apart from the runtime one: it decides whether
// the check is compiled in at all.
#[allow(clippy::collapsible_if)]
fn gated(
    dy: &Tensor<f32>,
    output: &Tensor<f32>,
    n: usize,
    o: usize,
    oy: usize,
    ox: usize,
    #[comptime] relu: bool,
) -> f32 {
    let mut g = dy[at(dy, n, o, oy, ox)];
    if comptime![relu] {
        if output[at(output, n, o, oy, ox)] <= 0.0f32 {
            g = 0.0f32;
        }
    }
    g
}

/// Weight `[o, i, ky, kx]`'s gradient (`w` its index in a contiguous
/// tensor of `weight`'s shape), summed over the batch and the output plane
/// by the cube's units (each takes every `UNITS`-th output position, in a
/// fixed order, so the sum is the same every run).
#[cube]
#[allow(clippy::too_many_arguments)]
fn weight_grad(
    x: &Tensor<f32>,
    weight: &Tensor<f32>,
    dy: &Tensor<f32>,
    output: &Tensor<f32>,
    shared: &mut Shared<[f32]>,
    w: usize,
    g: &Geometry,
    #[comptime] relu: bool,
) -> f32 {
    let (kh, kw) = (weight.shape(2), weight.shape(3));
    let kx = w % kw;
    let ky = (w / kw) % kh;
    let i = (w / (kw * kh)) % weight.shape(1);
    let o = w / (kw * kh * weight.shape(1));
    let (out_h, out_w) = (dy.shape(2), dy.shape(3));
    let plane = out_h * out_w;
    let count = dy.shape(0) * plane;
    let mut sum = 0.0f32;
    let mut p = UNIT_POS as usize;
    while p < count {
        let n = p / plane;
        let (oy, ox) = ((p % plane) / out_w, p % out_w);
        let (y, row_inside) = source(oy, ky, g.stride_y, g.pad_y, g.dilation_y, x.shape(2));
        let (col, col_inside) = source(ox, kx, g.stride_x, g.pad_x, g.dilation_x, x.shape(3));
        if row_inside && col_inside {
            sum += gated(dy, output, n, o, oy, ox, relu) * x[at(x, n, i, y, col)];
        }
        p += UNITS;
    }
    cube_sum(shared, sum)
}

/// Bias `o`'s gradient: the gated output gradient summed over channel `o`.
#[cube]
fn bias_grad(
    dy: &Tensor<f32>,
    output: &Tensor<f32>,
    shared: &mut Shared<[f32]>,
    o: usize,
    #[comptime] relu: bool,
) -> f32 {
    let (out_h, out_w) = (dy.shape(2), dy.shape(3));
    let plane = out_h * out_w;
    let count = dy.shape(0) * plane;
    let mut sum = 0.0f32;
    let mut p = UNIT_POS as usize;
    while p < count {
        let (oy, ox) = ((p % plane) / out_w, p % out_w);
        sum += gated(dy, output, p / plane, o, oy, ox, relu);
        p += UNITS;
    }
    cube_sum(shared, sum)
}

/// The gradient of input value `index` (its index in a contiguous tensor
/// of `x`'s shape): the sum over the outputs whose taps read it.
#[cube]
fn input_grad(
    x: &Tensor<f32>,
    weight: &Tensor<f32>,
    dy: &Tensor<f32>,
    output: &Tensor<f32>,
    index: usize,
    g: &Geometry,
    #[comptime] relu: bool,
) -> f32 {
    let (in_h, in_w) = (x.shape(2), x.shape(3));
    let ix = index % in_w;
    let iy = (index / in_w) % in_h;
    let i = (index / (in_w * in_h)) % x.shape(1);
    let n = index / (in_w * in_h * x.shape(1));
    let mut sum = 0.0f32;
    for o in 0..dy.shape(1) {
        for ky in 0..weight.shape(2) {
            let (oy, row_hit) = target(iy, ky, g.stride_y, g.pad_y, g.dilation_y, dy.shape(2));
            if row_hit {
                for kx in 0..weight.shape(3) {
                    let (ox, hit) = target(ix, kx, g.stride_x, g.pad_x, g.dilation_x, dy.shape(3));
                    if hit {
                        let w = weight[at(weight, o, i, ky, kx)];
                        sum += gated(dy, output, n, o, oy, ox, relu) * w;
                    }
                }
            }
        }
    }
    sum
}

/// Backward, in one launch: the first cubes each sum one weight's gradient
/// (if `params`), the next one bias value's each, and the rest work out
/// `UNITS` input gradients each, one per unit (if `input`). Which cube does
/// what depends on its position alone, so every unit of a cube reaches the
/// same barriers. `output` is the forward's output where a ReLU followed
/// (`relu`), any tensor otherwise; the outputs not asked for are unused.
#[cube(launch)]
// Comptime `if`s stay apart from the runtime ones they guard (see `gated`).
#[allow(clippy::too_many_arguments, clippy::collapsible_if)]
pub(crate) fn conv_backward_kernel(
    x: &Tensor<f32>,
    weight: &Tensor<f32>,
    dy: &Tensor<f32>,
    output: &Tensor<f32>,
    dx: &mut Tensor<f32>,
    dweight: &mut Tensor<f32>,
    dbias: &mut Tensor<f32>,
    g: Geometry,
    #[comptime] relu: bool,
    #[comptime] params: bool,
    #[comptime] input: bool,
) {
    let cube = CUBE_POS;
    let mut first = 0usize;
    if comptime![params] {
        let weights = dweight.len();
        let channels = dbias.len();
        let mut shared = Shared::<[f32]>::new_slice(UNITS);
        if cube < weights {
            let sum = weight_grad(x, weight, dy, output, &mut shared, cube, &g, relu);
            if UNIT_POS == 0 {
                dweight[cube] = sum;
            }
        } else if cube < weights + channels {
            let sum = bias_grad(dy, output, &mut shared, cube - weights, relu);
            if UNIT_POS == 0 {
                dbias[cube - weights] = sum;
            }
        }
        first = weights + channels;
    }
    if comptime![input] {
        if cube >= first {
            let index = (cube - first) * UNITS + UNIT_POS as usize;
            if index < dx.len() {
                dx[index] = input_grad(x, weight, dy, output, index, &g, relu);
            }
        }
    }
}
