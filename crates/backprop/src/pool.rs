//! Max pooling with its record of where each maximum came from.
//!
//! The report's backward pass for max pooling keeps a record matrix marking,
//! in every window, the element that was the maximum; the gradient of each
//! pooled output goes back to that element only and every other input gets
//! zero. [`MaxPoolRecord`] stores the record as the flat input index of each
//! window's maximum (the first one on ties); [`MaxPoolRecord::mask`] expands
//! it to the report's 0/1 matrix.

use ndarray::{Array4, ArrayView4};

use crate::float::Float;

/// `k × k` max pooling at `stride`, no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window side.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
}

/// Where each pooled maximum came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaxPoolRecord {
    argmax: Vec<usize>,
    input_dim: (usize, usize, usize, usize),
}

impl MaxPoolRecord {
    /// Flat (row-major) input index of the maximum of each output element.
    pub fn argmax(&self) -> &[usize] {
        &self.argmax
    }

    /// The record as a 0/1 array of the input's shape (1 where a window took
    /// its maximum).
    pub fn mask<F: Float>(&self) -> Array4<F> {
        let mut mask = Array4::zeros(self.input_dim);
        let flat = mask.as_slice_mut().expect("standard layout");
        for &i in &self.argmax {
            flat[i] = F::one();
        }
        mask
    }
}

impl MaxPool2d {
    /// Non-overlapping `k × k` pooling (stride `k`).
    pub fn new(kernel: usize) -> Self {
        MaxPool2d {
            kernel,
            stride: kernel,
        }
    }

    /// Output spatial size for an `h × w` input.
    pub fn output_size(&self, h: usize, w: usize) -> (usize, usize) {
        assert!(
            h >= self.kernel && w >= self.kernel,
            "pooling window larger than input"
        );
        (
            (h - self.kernel) / self.stride + 1,
            (w - self.kernel) / self.stride + 1,
        )
    }

    /// The pooled output and its record.
    pub fn forward<F: Float>(&self, x: ArrayView4<'_, F>) -> (Array4<F>, MaxPoolRecord) {
        let (n, c, h, w) = x.dim();
        let (ho, wo) = self.output_size(h, w);
        let x = x.as_standard_layout();
        let xs = x.as_slice().expect("standard layout");
        let mut out = vec![F::zero(); n * c * ho * wo];
        let mut argmax = vec![0usize; n * c * ho * wo];
        let (k, stride) = (self.kernel, self.stride);
        let windows = out.chunks_exact_mut(wo).zip(argmax.chunks_exact_mut(wo));
        for (row_index, (out_row, arg_row)) in windows.enumerate() {
            let (plane, i) = (row_index / ho, row_index % ho);
            let top = plane * h * w + i * stride * w;
            for (j, (o, a)) in out_row.iter_mut().zip(arg_row.iter_mut()).enumerate() {
                let first = top + j * stride;
                let (mut best, mut best_value) = (first, xs[first]);
                for u in 0..k {
                    let start = first + u * w;
                    for (idx, &v) in (start..).zip(&xs[start..start + k]) {
                        // Selects, not a branch: which element wins is
                        // random, so a branch would mispredict often.
                        let better = v > best_value;
                        best = if better { idx } else { best };
                        best_value = if better { v } else { best_value };
                    }
                }
                *o = best_value;
                *a = best;
            }
        }
        let out = Array4::from_shape_vec((n, c, ho, wo), out).expect("shape");
        (
            out,
            MaxPoolRecord {
                argmax,
                input_dim: (n, c, h, w),
            },
        )
    }

    /// `∂L/∂X`: each output gradient routed to its window's maximum
    /// (accumulated if overlapping windows share one).
    pub fn backward<F: Float>(
        &self,
        record: &MaxPoolRecord,
        grad_out: ArrayView4<'_, F>,
    ) -> Array4<F> {
        assert_eq!(
            grad_out.len(),
            record.argmax.len(),
            "MaxPool2d::backward: gradient shape"
        );
        let mut grad = Array4::zeros(record.input_dim);
        let flat = grad.as_slice_mut().expect("standard layout");
        for (&i, &g) in record
            .argmax
            .iter()
            .zip(grad_out.as_standard_layout().iter())
        {
            flat[i] += g;
        }
        grad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_input_gradient};
    use crate::init::{rng, uniform};

    #[test]
    fn forward_and_record() {
        let x = Array4::from_shape_vec(
            (1, 1, 4, 4),
            vec![
                1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 8.0, 7.0, 0.0, 0.0, 1.0, 1.0, 9.0, 0.0, 2.0, 3.0,
            ],
        )
        .unwrap();
        let (y, record) = MaxPool2d::new(2).forward(x.view());
        assert_eq!(y.into_raw_vec_and_offset().0, vec![5.0, 8.0, 9.0, 3.0]);
        assert_eq!(record.argmax(), &[1, 6, 12, 15]);
        let mask: Array4<f64> = record.mask();
        assert_eq!(mask.sum(), 4.0);
        assert_eq!(mask[[0, 0, 3, 0]], 1.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for pool in [
            MaxPool2d::new(2),
            MaxPool2d {
                kernel: 3,
                stride: 2,
            },
            MaxPool2d::new(3),
        ] {
            let mut g = rng(8);
            let x: Array4<f64> = uniform((2, 3, 7, 6), 1.0, &mut g);
            let (y, record) = pool.forward(x.view());
            let r: Array4<f64> = uniform(y.raw_dim(), 1.0, &mut g);
            let analytic = pool.backward(&record, r.view());
            let numeric = numeric_input_gradient(&x, |x| (pool.forward(x.view()).0 * &r).sum());
            assert_close(
                &format!("{pool:?}"),
                &analytic.view().into_dyn(),
                &numeric.view().into_dyn(),
                1e-4,
            );
        }
    }
}
