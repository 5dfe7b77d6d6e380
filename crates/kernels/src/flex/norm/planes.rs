//! BatchNorm's loops over a `[batch, channels, ...]` tensor seen as planes:
//! per-channel statistics, the normalised sum, and its backward.

use std::mem::MaybeUninit;

use burn::tensor::Shape;
use rayon::prelude::*;

use crate::flex::lanes::lane_sum;
use crate::flex::parallel::{par_fill, par_fill_n, planes_per_task};
use crate::flex::simd::widest;

/// A tensor `[batch, channels, ...]` seen as `batch * channels` planes of
/// `plane` contiguous values.
pub(super) struct Planes {
    batch: usize,
    pub(super) channels: usize,
    plane: usize,
}

/// One channel's mean and (biased) variance.
#[derive(Clone, Copy)]
pub(super) struct ChannelStats {
    pub(super) mean: f32,
    pub(super) variance: f32,
}

/// A BatchNorm's input with what normalises it: the normalised value of `x`
/// in channel `c` is `scale[c] * x + shift[c]`.
#[derive(Clone, Copy)]
pub(super) struct Normalised<'a> {
    pub(super) x: &'a [f32],
    pub(super) scale: &'a [f32],
    pub(super) shift: &'a [f32],
}

/// What a BatchNorm's backward needs of its forward.
#[derive(Clone, Copy)]
pub(super) struct SavedValues<'a> {
    pub(super) normalised: Normalised<'a>,
    pub(super) gamma: &'a [f32],
    pub(super) mean: &'a [f32],
    pub(super) variance: &'a [f32],
    pub(super) epsilon: f64,
}

/// The gradients of a BatchNorm's input, `gamma` and `beta`.
pub(super) struct GradValues {
    pub(super) x: Vec<f32>,
    pub(super) gamma: Vec<f32>,
    pub(super) beta: Vec<f32>,
}

impl Planes {
    pub(super) fn of(shape: &Shape) -> Self {
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

    fn len(&self) -> usize {
        self.batch * self.channels * self.plane
    }

    fn plane_of<'a>(&self, data: &'a [f32], index: usize) -> &'a [f32] {
        &data[index * self.plane..][..self.plane]
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
    pub(super) fn statistics(&self, x: &[f32]) -> Vec<ChannelStats> {
        self.per_channel(|c| {
            widest(
                #[inline(always)]
                || {
                    let sum: f64 = self
                        .of_channel(x, c)
                        .map(|p| lane_sum(p, p, |v, _| v) as f64)
                        .sum();
                    let mean = (sum / self.count()) as f32;
                    let squares: f64 = self
                        .of_channel(x, c)
                        .map(|p| lane_sum(p, p, |v, _| (v - mean) * (v - mean)) as f64)
                        .sum();
                    ChannelStats {
                        mean,
                        variance: (squares / self.count()) as f32,
                    }
                },
            )
        })
    }

    /// `relu?(sum over k of scale_k[c] * x_k + shift_k[c])` plane by plane:
    /// BatchNorm's output for one input, and the join of a residual block for
    /// two.
    pub(super) fn normalise<const N: usize, const RELU: bool>(
        &self,
        inputs: [Normalised; N],
    ) -> Vec<f32> {
        let fill = |_: &mut (), index: usize, out: &mut [MaybeUninit<f32>]| {
            let at = inputs.map(|input| input.plane(self, index));
            widest(
                #[inline(always)]
                || write_sums::<N, RELU>(&at, out),
            );
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

    /// The backward of [`normalise`](Self::normalise) in two passes: per
    /// channel the sums of the gradient `g` that reaches the sum (zero where
    /// the ReLU was off) and of `g * (x_k - mean_k)`, then each
    /// `dx_k = a*g + b + k*x_k` with per-channel coefficients from those sums
    /// (the usual BatchNorm formula, regrouped). The ReLU's mask is worked out
    /// again from the inputs, so the output need not be kept.
    pub(super) fn normalise_backward<const N: usize, const RELU: bool>(
        &self,
        inputs: [SavedValues; N],
        dy: &[f32],
    ) -> [GradValues; N] {
        let sums = self.per_channel(|c| {
            let mut gate = Vec::new();
            (0..self.batch)
                .map(|b| {
                    let index = b * self.channels + c;
                    let at = inputs.map(|input| input.normalised.plane(self, index));
                    widest(
                        #[inline(always)]
                        || {
                            let g = gated::<N, RELU>(&at, self.plane_of(dy, index), &mut gate);
                            let centred: [f32; N] = std::array::from_fn(|k| {
                                let mean = inputs[k].mean[c];
                                lane_sum(g, at[k].x, |g, x| g * (x - mean))
                            });
                            (lane_sum(g, g, |g, _| g), centred)
                        },
                    )
                })
                .fold((0.0, [0.0; N]), |(g, centred), (plane_g, plane_centred)| {
                    let centred = std::array::from_fn(|k| centred[k] + plane_centred[k] as f64);
                    (g + plane_g as f64, centred)
                })
        });
        let coefficients: [_; N] =
            std::array::from_fn(|k| GradCoefficients::new(&inputs[k], k, &sums, self.count()));
        let fill = |gate: &mut Vec<f32>, index: usize, outs: [&mut [MaybeUninit<f32>]; N]| {
            let c = index % self.channels;
            let at = inputs.map(|input| input.normalised.plane(self, index));
            widest(
                #[inline(always)]
                || {
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
                },
            )
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
            GradValues {
                x,
                gamma: k.gamma,
                beta: k.beta,
            }
        })
    }
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

/// Per channel, `dx = a*g + b + x*x_k` and the parameters' gradients.
struct GradCoefficients {
    a: Vec<f32>,
    b: Vec<f32>,
    x: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl GradCoefficients {
    /// Input `k`'s coefficients from the per-channel sums of `g` and of
    /// `g * (x_k - mean_k)` over `n` values.
    fn new<const N: usize>(
        input: &SavedValues,
        k: usize,
        sums: &[(f64, [f64; N])],
        n: f64,
    ) -> Self {
        let channels = sums.len();
        let mut grad = GradCoefficients {
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
