//! Convolution as im2col + one matrix product per image: forward, input
//! gradient, and weight and bias gradients.

mod geometry;
mod matmul;

use std::mem::MaybeUninit;

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::ops::ConvOptions;
use burn::tensor::{DType, Shape};
use rayon::prelude::*;

use self::geometry::ConvGeometry;
use self::matmul::{Operand, matmul};
use super::lanes::lane_sum;
use super::parallel::{par_fill, per_task, write_runs};
use super::storage::{contiguous, tensor, values};
use crate::{ConvGrads, ConvParamGrads, ConvPrimitive, Epilogue, stock};

pub(super) fn forward(
    conv: ConvPrimitive<Flex>,
    bias: FlexTensor,
    activation: Epilogue,
) -> FlexTensor {
    let out_shape = output_shape(&conv.x.shape(), &conv.weight.shape(), &conv.options);
    let Some(out_shape) = out_shape.filter(|_| im2col_serves(&conv)) else {
        return stock::conv2d::<Flex>(conv, bias, activation);
    };
    let geometry = ConvGeometry::new(&conv, &out_shape);
    let [x, weight, bias] = [conv.x, conv.weight, bias].map(contiguous);
    let output = geometry.forward(values(&x), values(&weight), values(&bias), activation);
    tensor(output, out_shape)
}

pub(super) fn x_grad(conv: ConvPrimitive<Flex>, output_grad: FlexTensor) -> FlexTensor {
    if !im2col_serves(&conv) {
        return stock::conv2d_x_grad::<Flex>(conv, output_grad);
    }
    let geometry = ConvGeometry::new(&conv, &output_grad.shape());
    let [weight, output_grad] = [conv.weight, output_grad].map(contiguous);
    let x_grad = geometry.input_grad(values(&weight), values(&output_grad));
    tensor(x_grad, conv.x.shape())
}

pub(super) fn param_grads(
    conv: ConvPrimitive<Flex>,
    output_grad: FlexTensor,
) -> ConvParamGrads<Flex> {
    if !im2col_serves(&conv) {
        return stock::conv2d_param_grads::<Flex>(conv, output_grad);
    }
    let geometry = ConvGeometry::new(&conv, &output_grad.shape());
    let [x, output_grad] = [conv.x, output_grad].map(contiguous);
    let sums = geometry.param_grads(values(&x), values(&output_grad));
    sums.into_tensors(&geometry, conv.weight.shape())
}

pub(super) fn grads(conv: ConvPrimitive<Flex>, output_grad: FlexTensor) -> ConvGrads<Flex> {
    if !im2col_serves(&conv) {
        return stock::conv2d_grads::<Flex>(conv, output_grad);
    }
    let geometry = ConvGeometry::new(&conv, &output_grad.shape());
    let weight_shape = conv.weight.shape();
    let [x, weight, output_grad] = [conv.x, conv.weight, output_grad].map(contiguous);
    let (x_grad, sums) = geometry.all_grads(values(&x), values(&weight), values(&output_grad));
    ConvGrads {
        x: tensor(x_grad, x.shape()),
        params: sums.into_tensors(&geometry, weight_shape),
    }
}

/// Whether the im2col kernels are written for this convolution: f32 and
/// ungrouped; anything else takes Burn's stock operations.
fn im2col_serves(conv: &ConvPrimitive<Flex>) -> bool {
    conv.x.dtype() == DType::F32 && conv.options.groups == 1
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

/// A convolution's weight and bias gradients, or a partial sum of them over
/// some of the images. The weight gradient is `[out channel, tap]`, or its
/// transpose where [`ConvGeometry::weight_grad_transposed`] says so.
struct ParamSums {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl ParamSums {
    fn zero(geometry: &ConvGeometry) -> Self {
        ParamSums {
            weight: vec![0.0; geometry.channels_out * geometry.taps()],
            bias: vec![0.0; geometry.channels_out],
        }
    }

    fn add(mut self, other: ParamSums) -> ParamSums {
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

    fn into_tensors(self, geometry: &ConvGeometry, weight_shape: Shape) -> ConvParamGrads<Flex> {
        let (taps, out) = (geometry.taps(), geometry.channels_out);
        let weight = if geometry.weight_grad_transposed() {
            (0..out * taps)
                .map(|i| self.weight[(i % taps) * out + i / taps])
                .collect()
        } else {
            self.weight
        };
        ConvParamGrads {
            weight: tensor(weight, weight_shape),
            bias: tensor(self.bias, Shape::new([out])),
        }
    }
}

/// The passes over the images, each image's matrices in scratch space `col`.
impl ConvGeometry {
    /// `Y[o, p] = b[o] + sum over taps of W[o, tap] * col[tap, p]`, image by
    /// image, then the activation on each image's output while it is in cache.
    fn forward(&self, x: &[f32], weight: &[f32], bias: &[f32], activation: Epilogue) -> Vec<f32> {
        let (taps, positions, out) = (self.taps(), self.positions(), self.channels_out);
        let images = self.images;
        let fill = |col: &mut Vec<f32>, image: usize, y: &mut [MaybeUninit<f32>]| {
            self.im2col(self.image(x, image), col);
            let y = write_runs(y, positions, |o| bias[o]);
            matmul(
                y,
                [out, positions, taps],
                true,
                (Operand::rows(weight, taps), Operand::rows(col, positions)),
                self.gemm_threads(),
            );
            if activation == Epilogue::Relu {
                // As Burn's relu: NaN stays NaN, -0.0 becomes 0.0.
                // (A select, not a branch: the signs are a coin toss.)
                for v in y.iter_mut() {
                    *v = if *v <= 0.0 { 0.0 } else { *v };
                }
            }
        };
        // SAFETY: `write_runs` writes the whole image's output.
        unsafe {
            par_fill(
                images * out * positions,
                out * positions,
                per_task(images),
                || self.scratch(),
                fill,
            )
        }
    }

    /// One image's input gradient, `dX = col2im(W^T dY)`: each tap's share of
    /// the output gradient goes back to the input pixel it read.
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
                Operand::rows(weight, taps).transpose(),
                Operand::rows(dy, positions),
            ),
            self.gemm_threads(),
        );
        self.col2im(col, write_runs(dx, dx.len(), |_| 0.0));
    }

    /// Whether the weight gradient is summed as `dW^T`, `[tap, out channel]`.
    /// Both factors of `dW = dY col^T` run along the positions; `gemm` needs
    /// one of them the other way round and copies it transposed. That copy
    /// is the slow part (7 % of a `cnn` training step when it was always
    /// the im2col matrix), so it goes to the smaller one: `dY` where there
    /// are fewer output channels than taps.
    fn weight_grad_transposed(&self) -> bool {
        self.channels_out < self.taps()
    }

    /// Adds one image's share to `dW[o, tap] = sum of dY[o, p] * col[tap, p]`
    /// (or to its transpose) and `db[o] = sum of dY[o, p]`.
    fn add_param_grads(&self, x: &[f32], dy: &[f32], col: &mut [f32], sums: &mut ParamSums) {
        let (taps, positions, out) = (self.taps(), self.positions(), self.channels_out);
        self.im2col(x, col);
        let (dy_rows, col) = (Operand::rows(dy, positions), Operand::rows(col, positions));
        let (shape, factors) = if self.weight_grad_transposed() {
            ([taps, out, positions], (col, dy_rows.transpose()))
        } else {
            ([out, taps, positions], (dy_rows, col.transpose()))
        };
        matmul(&mut sums.weight, shape, true, factors, self.gemm_threads());
        for (b, g) in sums.bias.iter_mut().zip(dy.chunks_exact(positions)) {
            *b += lane_sum(g, g, |g, _| g);
        }
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
    /// per fixed group of images, added up in order at the end. Fixed, so
    /// that the rounding of the sums does not depend on how rayon happened to
    /// split the work (which follows the timing of its threads): a run
    /// trains to the same bits each time.
    fn param_grads(&self, x: &[f32], dy: &[f32]) -> ParamSums {
        let group = per_task(self.images);
        let partials: Vec<ParamSums> = (0..self.images.div_ceil(group))
            .into_par_iter()
            .map_init(
                || self.scratch(),
                |col, g| {
                    let mut sums = ParamSums::zero(self);
                    for image in g * group..((g + 1) * group).min(self.images) {
                        let (x, dy) = (self.image(x, image), self.output_grad(dy, image));
                        self.add_param_grads(x, dy, col, &mut sums);
                    }
                    sums
                },
            )
            .collect();
        self.sum_in_order(partials)
    }

    /// The partial sums of the groups, added in the groups' order.
    fn sum_in_order(&self, partials: Vec<ParamSums>) -> ParamSums {
        partials
            .into_iter()
            .reduce(ParamSums::add)
            .unwrap_or_else(|| ParamSums::zero(self))
    }

    /// Input, weight and bias gradients in one pass over the images, so each
    /// image's output gradient is read while it is in cache; the parameter
    /// gradients summed as in [`param_grads`](Self::param_grads).
    fn all_grads(&self, x: &[f32], weight: &[f32], dy: &[f32]) -> (Vec<f32>, ParamSums) {
        let (images, image_len) = (self.images, self.image_len());
        let group = per_task(images);
        let len = images * image_len;
        let mut x_grad = Vec::with_capacity(len);
        let partials: Vec<ParamSums> = x_grad.spare_capacity_mut()[..len]
            .par_chunks_mut(group * image_len)
            .enumerate()
            .map_init(
                || self.scratch(),
                |col, (g, dxs)| {
                    let mut sums = ParamSums::zero(self);
                    for (k, dx) in dxs.chunks_mut(image_len).enumerate() {
                        let image = g * group + k;
                        let (x, dy) = (self.image(x, image), self.output_grad(dy, image));
                        self.add_param_grads(x, dy, col, &mut sums);
                        self.image_input_grad(weight, dy, col, dx);
                    }
                    sums
                },
            )
            .collect();
        let sums = self.sum_in_order(partials);
        // SAFETY: `image_input_grad` wrote every image's gradient.
        unsafe { x_grad.set_len(len) };
        (x_grad, sums)
    }
}
