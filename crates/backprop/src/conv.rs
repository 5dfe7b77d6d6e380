//! Two-dimensional convolution (cross-correlation, as in every deep-learning
//! framework) with stride and zero padding, over `(N, C, H, W)` batches.
//!
//! Forward: im2col + one matrix product per image. With `X̃` the padded input,
//! `Y[n,o,i,j] = β_o + Σ_{c,u,v} W[o,c,u,v] X̃[n,c,i·s+u,j·s+v]`.
//!
//! Backward, as derived in the report:
//!
//! * **input gradient** — insert `s - 1` zeros between the elements of the
//!   output gradient ([`dilate`]), pad it by `k - 1` on every side ("full"
//!   convolution; plus `(H + 2p - k) mod s` extra rows/columns at the bottom
//!   and right for the input rows the strided windows never reached), and
//!   correlate it at stride 1 with the kernel rotated by 180° with its in- and
//!   out-channels swapped ([`rotate180`]); then crop the padding off. This is
//!   itself a convolution, so it reuses the im2col + matrix product path.
//! * **kernel gradient** — the input correlated with the dilated output
//!   gradient: `∂L/∂W[o,c,u,v] = Σ_{n,a,b} dil(∂L/∂Y)[n,o,a,b] X̃[n,c,a+u,b+v]`.
//!   Only the positions `a = i·s, b = j·s` of the dilated gradient are
//!   non-zero, and at those `X̃[n,c,i·s+u,j·s+v]` is exactly the im2col column
//!   of output position `(i, j)`, so the correlation is the matrix product
//!   `∂L/∂Y_n (cout × HoWo) · colsₙᵀ (HoWo × C k²)` with the columns kept from
//!   the forward pass. The tests check this against the literal correlation.
//! * **bias gradient** — the output gradient summed over batch and positions.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3, Array4, ArrayView2, ArrayView4, Axis, s};
use rand::rngs::StdRng;

use crate::float::Float;
use crate::init::{self, Init};

/// A convolution layer with square kernels.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<F> {
    /// Kernels, shape `(out_channels, in_channels, k, k)` (Burn's and PyTorch's layout).
    pub weight: Array4<F>,
    /// One bias per output channel.
    pub bias: Array1<F>,
    /// Step between windows, both directions.
    pub stride: usize,
    /// Zeros added on every side of the input.
    pub padding: usize,
}

/// Gradients of a [`Conv2d`].
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2dGrads<F> {
    /// `∂L/∂W`, shape of the kernels.
    pub weight: Array4<F>,
    /// `∂L/∂β`.
    pub bias: Array1<F>,
}

/// What backward needs from forward: the im2col matrix and the input shape.
#[derive(Clone, Debug)]
pub struct Conv2dCache<F> {
    cols: Array3<F>,
    input_dim: (usize, usize, usize, usize),
}

/// Output length of a convolution along one axis.
pub fn output_len(input: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    assert!(stride > 0, "stride must be positive");
    assert!(
        input + 2 * padding >= kernel,
        "kernel {kernel} larger than padded input {input}+2·{padding}"
    );
    (input + 2 * padding - kernel) / stride + 1
}

/// The im2col matrices of `x` for `k × k` windows at `stride` with `padding`
/// implicit zeros, one per image: shape `(N, C·k·k, Ho·Wo)`, row
/// `(c·k + u)·k + v`, column `i·Wo + j` of image `n` holding
/// `X̃[n, c, i·s + u, j·s + v]`.
pub fn im2col<F: Float>(
    x: ArrayView4<'_, F>,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Array3<F> {
    let (n, ch, h, w) = x.dim();
    let geometry = Geometry::new(ch, h, w, kernel, stride, padding);
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let block = geometry.rows() * geometry.hw();
    let mut cols = vec![F::zero(); n * block];
    for (image, dst) in xs
        .chunks_exact(ch * h * w)
        .zip(cols.chunks_exact_mut(block))
    {
        geometry.im2col_image(image, dst);
    }
    Array3::from_shape_vec((n, geometry.rows(), geometry.hw()), cols).expect("shape")
}

/// Sizes of one image's im2col.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    ch: usize,
    h: usize,
    w: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(ch: usize, h: usize, w: usize, kernel: usize, stride: usize, padding: usize) -> Self {
        let ho = output_len(h, kernel, stride, padding);
        let wo = output_len(w, kernel, stride, padding);
        Geometry {
            ch,
            h,
            w,
            kernel,
            stride,
            padding,
            ho,
            wo,
        }
    }

    fn rows(&self) -> usize {
        self.ch * self.kernel * self.kernel
    }

    fn hw(&self) -> usize {
        self.ho * self.wo
    }

    /// Writes the im2col matrix `(C·k·k, Ho·Wo)` of one `(C, H, W)` image
    /// into `dst`. Only in-image positions are written, and which those are
    /// depends on the sizes alone, so a zeroed buffer can be reused for every
    /// image of a batch: its padding positions stay zero.
    fn im2col_image<F: Float>(&self, image: &[F], dst: &mut [F]) {
        let Geometry {
            ch,
            h,
            w,
            kernel,
            stride,
            padding,
            ho,
            wo,
        } = *self;
        let hw = ho * wo;
        for c in 0..ch {
            let plane = &image[c * h * w..][..h * w];
            for u in 0..kernel {
                for v in 0..kernel {
                    let row = &mut dst[((c * kernel + u) * kernel + v) * hw..][..hw];
                    // Output columns j whose input column j·s + v - p lies
                    // inside the image; the others stay zero (padding).
                    let (j_lo, j_hi) = valid_range(w, wo, stride, padding, v);
                    if j_lo >= j_hi {
                        continue;
                    }
                    let first = j_lo * stride + v - padding;
                    for i in 0..ho {
                        let Some(y) = (i * stride + u).checked_sub(padding).filter(|&y| y < h)
                        else {
                            continue;
                        };
                        let src = &plane[y * w..][..w];
                        let out = &mut row[i * wo..][..wo];
                        if stride == 1 {
                            out[j_lo..j_hi].copy_from_slice(&src[first..first + (j_hi - j_lo)]);
                        } else {
                            for (d, &x) in out[j_lo..j_hi]
                                .iter_mut()
                                .zip(src[first..].iter().step_by(stride))
                            {
                                *d = x;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output positions `j_lo..j_hi` (out of `0..out`) whose input
/// position `j·stride + offset - padding` falls inside `0..input`.
fn valid_range(
    input: usize,
    out: usize,
    stride: usize,
    padding: usize,
    offset: usize,
) -> (usize, usize) {
    let lo = padding.saturating_sub(offset).div_ceil(stride);
    // j·s + offset - padding ≤ input - 1  ⇔  j ≤ (input - 1 + padding - offset) / s
    let hi = match (input + padding).checked_sub(offset + 1) {
        Some(top) => (top / stride + 1).min(out),
        None => 0,
    };
    (lo.min(hi), hi)
}

/// Correlates `x` with `weight` (`(O, C, k, k)`) via im2col + one matrix
/// product per image: returns the output `(N, O, Ho, Wo)` (plus `bias`, if
/// any) and, if `keep_cols`, the im2col matrices `(N, C·k·k, Ho·Wo)`.
/// Each image's columns are multiplied while still in cache; without
/// `keep_cols` one buffer serves the whole batch.
fn correlate<F: Float>(
    x: ArrayView4<'_, F>,
    weight: ArrayView4<'_, F>,
    bias: Option<&Array1<F>>,
    stride: usize,
    padding: usize,
    keep_cols: bool,
) -> (Array4<F>, Option<Array3<F>>) {
    let (n, ch, h, w) = x.dim();
    let (out_ch, in_ch, k, k2) = weight.dim();
    assert_eq!(k, k2, "square kernels only");
    assert_eq!(ch, in_ch, "input has {ch} channels, kernel expects {in_ch}");
    let geometry = Geometry::new(ch, h, w, k, stride, padding);
    let (rows, hw) = (geometry.rows(), geometry.hw());
    let weight = weight.as_standard_layout();
    let wmat = weight
        .view()
        .into_shape_with_order((out_ch, rows))
        .expect("standard layout");
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");

    let mut out = Array4::<F>::zeros((n, out_ch, geometry.ho, geometry.wo));
    if let Some(bias) = bias {
        for mut image in out.outer_iter_mut() {
            for (mut plane, &b) in image.outer_iter_mut().zip(bias) {
                plane.fill(b);
            }
        }
    }
    let beta = if bias.is_some() { F::one() } else { F::zero() };
    let block = rows * hw;
    let mut cols = vec![F::zero(); if keep_cols { n * block } else { block }];
    for (b, image) in out.outer_iter_mut().enumerate() {
        let dst = if keep_cols {
            &mut cols[b * block..][..block]
        } else {
            &mut cols[..]
        };
        geometry.im2col_image(&xs[b * ch * h * w..][..ch * h * w], dst);
        let cols_b = ArrayView2::from_shape((rows, hw), &*dst).expect("shape");
        let mut image = image
            .into_shape_with_order((out_ch, hw))
            .expect("contiguous");
        general_mat_mul(F::one(), &wmat, &cols_b, beta, &mut image);
    }
    let cols = keep_cols.then(|| Array3::from_shape_vec((n, rows, hw), cols).expect("shape"));
    (out, cols)
}

/// Inserts `stride - 1` zeros between neighbouring elements along both
/// spatial axes: `(N, C, H, W)` → `(N, C, (H-1)·s+1, (W-1)·s+1)`.
pub fn dilate<F: Float>(x: ArrayView4<'_, F>, stride: usize) -> Array4<F> {
    let (n, c, h, w) = x.dim();
    if stride == 1 {
        return x.to_owned();
    }
    let mut out = Array4::zeros((n, c, (h - 1) * stride + 1, (w - 1) * stride + 1));
    out.slice_mut(s![.., .., ..;stride, ..;stride]).assign(&x);
    out
}

/// Zero padding: `top`, `bottom`, `left`, `right` rows/columns.
pub fn pad<F: Float>(
    x: ArrayView4<'_, F>,
    top: usize,
    bottom: usize,
    left: usize,
    right: usize,
) -> Array4<F> {
    let (n, c, h, w) = x.dim();
    let mut out = Array4::zeros((n, c, top + h + bottom, left + w + right));
    out.slice_mut(s![.., .., top..top + h, left..left + w])
        .assign(&x);
    out
}

/// The kernel rotated by 180° with in- and out-channels swapped:
/// `R[c, o, u, v] = W[o, c, k-1-u, k-1-v]`, the kernel of the input-gradient
/// convolution.
pub fn rotate180<F: Float>(weight: ArrayView4<'_, F>) -> Array4<F> {
    let flipped = weight.slice(s![.., .., ..;-1, ..;-1]);
    flipped
        .permuted_axes([1, 0, 2, 3])
        .as_standard_layout()
        .into_owned()
}

impl<F: Float> Conv2d<F> {
    /// A layer with `k × k` kernels drawn by `init` (fan-in `in·k²`, fan-out
    /// `out·k²`) and small uniform biases.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        init: Init,
        rng: &mut StdRng,
    ) -> Self {
        let fan_in = in_channels * kernel * kernel;
        let fan_out = out_channels * kernel * kernel;
        Conv2d {
            weight: init.weights(
                (out_channels, in_channels, kernel, kernel),
                fan_in,
                fan_out,
                rng,
            ),
            bias: init::bias(out_channels, fan_in, rng),
            stride,
            padding,
        }
    }

    /// Kernel side `k`.
    pub fn kernel(&self) -> usize {
        self.weight.dim().2
    }

    /// Output spatial size for an `h × w` input.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        let k = self.kernel();
        (
            output_len(h, k, self.stride, self.padding),
            output_len(w, k, self.stride, self.padding),
        )
    }

    /// The output `(N, out, Ho, Wo)` and the cache for [`backward`](Self::backward).
    pub fn forward(&self, x: ArrayView4<'_, F>) -> (Array4<F>, Conv2dCache<F>) {
        let (out, cols) = correlate(
            x,
            self.weight.view(),
            Some(&self.bias),
            self.stride,
            self.padding,
            true,
        );
        let cols = cols.expect("kept");
        (
            out,
            Conv2dCache {
                cols,
                input_dim: x.dim(),
            },
        )
    }

    /// Parameter gradients from `∂L/∂Y`, and `∂L/∂X` when asked for.
    pub fn backward(
        &self,
        cache: &Conv2dCache<F>,
        grad_out: ArrayView4<'_, F>,
        need_input_grad: bool,
    ) -> (Conv2dGrads<F>, Option<Array4<F>>) {
        let (n, in_ch, h, w) = cache.input_dim;
        let (out_ch, _, k, _) = self.weight.dim();
        let (ho, wo) = self.output_size(h, w);
        assert_eq!(
            grad_out.dim(),
            (n, out_ch, ho, wo),
            "Conv2d::backward: gradient shape"
        );
        let grad_out = grad_out.as_standard_layout();

        let bias = grad_out
            .sum_axis(Axis(3))
            .sum_axis(Axis(2))
            .sum_axis(Axis(0));

        let hw = ho * wo;
        let mut dw = Array2::<F>::zeros((out_ch, in_ch * k * k));
        for (b, g) in grad_out.outer_iter().enumerate() {
            let g = g.into_shape_with_order((out_ch, hw)).expect("contiguous");
            general_mat_mul(
                F::one(),
                &g,
                &cache.cols.index_axis(Axis(0), b).t(),
                F::one(),
                &mut dw,
            );
        }
        let weight = dw
            .into_shape_with_order((out_ch, in_ch, k, k))
            .expect("shape");

        let input_grad = need_input_grad.then(|| {
            let (s, p) = (self.stride, self.padding);
            let dilated = dilate(grad_out.view(), s);
            let rh = (h + 2 * p - k) % s;
            let rw = (w + 2 * p - k) % s;
            let full = pad(dilated.view(), k - 1, k - 1 + rh, k - 1, k - 1 + rw);
            let (padded_grad, _) = correlate(
                full.view(),
                rotate180(self.weight.view()).view(),
                None,
                1,
                0,
                false,
            );
            debug_assert_eq!(padded_grad.dim(), (n, in_ch, h + 2 * p, w + 2 * p));
            padded_grad.slice(s![.., .., p..p + h, p..p + w]).to_owned()
        });
        (Conv2dGrads { weight, bias }, input_grad)
    }
}

/// Direct six-loop convolution, the definition the im2col path must agree
/// with (for tests).
pub fn conv2d_direct<F: Float>(x: ArrayView4<'_, F>, layer: &Conv2d<F>) -> Array4<F> {
    let (n, in_ch, h, w) = x.dim();
    let (out_ch, _, k, _) = layer.weight.dim();
    let (ho, wo) = layer.output_size(h, w);
    let xp = pad(
        x,
        layer.padding,
        layer.padding,
        layer.padding,
        layer.padding,
    );
    Array4::from_shape_fn((n, out_ch, ho, wo), |(b, o, i, j)| {
        let mut acc = layer.bias[o];
        for c in 0..in_ch {
            for u in 0..k {
                for v in 0..k {
                    acc += layer.weight[[o, c, u, v]]
                        * xp[[b, c, i * layer.stride + u, j * layer.stride + v]];
                }
            }
        }
        acc
    })
}

crate::optim::parameters!(Conv2d: arrays weight, bias);
crate::optim::parameters!(Conv2dGrads: arrays weight, bias);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_gradients, numeric_input_gradient};
    use crate::init::{rng, uniform};

    fn layer(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        seed: u64,
    ) -> Conv2d<f64> {
        Conv2d::new(
            cin,
            cout,
            k,
            stride,
            padding,
            Init::HeUniform,
            &mut rng(seed),
        )
    }

    #[test]
    fn im2col_matches_direct_convolution() {
        for &(h, w, k, s, p) in &[
            (5, 5, 3, 1, 1),
            (7, 6, 3, 2, 1),
            (6, 7, 2, 2, 0),
            (8, 8, 3, 3, 2),
            (4, 4, 1, 1, 0),
        ] {
            let conv = layer(3, 4, k, s, p, 1);
            let x: Array4<f64> = uniform((2, 3, h, w), 1.0, &mut rng(2));
            let (fast, _) = conv.forward(x.view());
            let slow = conv2d_direct(x.view(), &conv);
            assert_eq!(fast.dim(), slow.dim());
            let err = (&fast - &slow)
                .mapv(f64::abs)
                .fold(0.0_f64, |m, &v| m.max(v));
            assert!(err < 1e-12, "{h}x{w} k{k} s{s} p{p}: {err}");
        }
    }

    #[test]
    fn dilate_pad_rotate() {
        let x = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let d = dilate(x.view(), 2);
        assert_eq!(
            d.into_raw_vec_and_offset().0,
            vec![1.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0, 0.0, 4.0]
        );
        let p = pad(x.view(), 1, 0, 0, 2);
        assert_eq!(p.dim(), (1, 1, 3, 4));
        assert_eq!(p[[0, 0, 1, 0]], 1.0);
        assert_eq!(p[[0, 0, 2, 1]], 4.0);
        let w = Array4::from_shape_fn((2, 3, 2, 2), |(o, c, u, v)| {
            (o * 1000 + c * 100 + u * 10 + v) as f64
        });
        let r = rotate180(w.view());
        assert_eq!(r.dim(), (3, 2, 2, 2));
        assert_eq!(r[[2, 1, 0, 0]], w[[1, 2, 1, 1]]);
        assert_eq!(r[[0, 1, 1, 0]], w[[1, 0, 0, 1]]);
    }

    /// Finite-difference check of weight, bias and input gradients, for
    /// stride 1 and 2, with and without padding, including sizes where the
    /// strided windows do not reach the last input rows.
    #[test]
    fn gradients_match_finite_differences() {
        for &(h, w, k, s, p) in &[
            (5, 5, 3, 1, 1),
            (6, 6, 3, 2, 1),
            (7, 6, 3, 2, 1),
            (6, 5, 2, 2, 0),
            (7, 7, 3, 3, 1),
        ] {
            let mut conv = layer(2, 3, k, s, p, 3);
            let mut g = rng(4);
            let x: Array4<f64> = uniform((2, 2, h, w), 1.0, &mut g);
            let (ho, wo) = conv.output_size(h, w);
            let r: Array4<f64> = uniform((2, 3, ho, wo), 1.0, &mut g);
            let loss = |c: &Conv2d<f64>, x: &Array4<f64>| (c.forward(x.view()).0 * &r).sum();

            let (_, cache) = conv.forward(x.view());
            let (grads, dx) = conv.backward(&cache, r.view(), true);
            let numeric = numeric_gradients(&mut conv, |c| loss(c, &x));
            let tag = format!("conv {h}x{w} k{k} s{s} p{p}");
            assert_close(
                &format!("{tag} weight"),
                &grads.weight.view().into_dyn(),
                &numeric[0].view(),
                1e-4,
            );
            assert_close(
                &format!("{tag} bias"),
                &grads.bias.view().into_dyn(),
                &numeric[1].view(),
                1e-4,
            );
            let numeric_dx = numeric_input_gradient(&x, |x| loss(&conv, x));
            assert_close(
                &format!("{tag} input"),
                &dx.unwrap().view().into_dyn(),
                &numeric_dx.view().into_dyn(),
                1e-4,
            );
        }
    }

    /// The matrix-product kernel gradient equals the literal correlation of
    /// the padded input with the dilated output gradient.
    #[test]
    fn kernel_gradient_is_input_correlated_with_dilated_gradient() {
        let (h, w, k, s, p) = (7, 8, 3, 2, 1);
        let conv = layer(2, 3, k, s, p, 5);
        let mut g = rng(6);
        let x: Array4<f64> = uniform((2, 2, h, w), 1.0, &mut g);
        let (ho, wo) = conv.output_size(h, w);
        let gy: Array4<f64> = uniform((2, 3, ho, wo), 1.0, &mut g);
        let (_, cache) = conv.forward(x.view());
        let (grads, _) = conv.backward(&cache, gy.view(), false);

        let xp = pad(x.view(), p, p, p, p);
        let dil = dilate(gy.view(), s);
        let (_, _, dh, dw) = dil.dim();
        let literal = Array4::from_shape_fn((3, 2, k, k), |(o, c, u, v)| {
            let mut acc = 0.0;
            for b in 0..2 {
                for a in 0..dh {
                    for e in 0..dw {
                        acc += dil[[b, o, a, e]] * xp[[b, c, a + u, e + v]];
                    }
                }
            }
            acc
        });
        let err = (&grads.weight - &literal)
            .mapv(f64::abs)
            .fold(0.0_f64, |m, &v| m.max(v));
        assert!(err < 1e-12, "{err}");
    }
}
