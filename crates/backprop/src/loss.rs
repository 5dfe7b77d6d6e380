//! Losses and their gradients with respect to the network output.
//!
//! Both are means over the batch, so the learning rate does not depend on the
//! batch size; the gradient returned is `∂Loss/∂output`, the report's
//! `∂Loss/∂a_L`, from which the backward recursion starts.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use crate::float::{Float, c};

/// Row-wise softmax, shifted by the row maximum for stability.
pub fn softmax<F: Float>(logits: ArrayView2<'_, F>) -> Array2<F> {
    let mut out = logits.to_owned();
    for mut row in out.rows_mut() {
        let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    out
}

/// Softmax followed by cross-entropy against integer `labels`, averaged over
/// the batch: `L = -(1/N) Σ_n log softmax(z_n)[y_n]`.
///
/// Returns `(L, ∂L/∂z)` with `∂L/∂z = (softmax(z) - onehot(y)) / N`: the
/// softmax Jacobian and the logarithm's derivative cancel to this.
pub fn softmax_cross_entropy<F: Float>(
    logits: ArrayView2<'_, F>,
    labels: &[usize],
) -> (F, Array2<F>) {
    let n = logits.nrows();
    assert_eq!(
        n,
        labels.len(),
        "softmax_cross_entropy: {n} rows, {} labels",
        labels.len()
    );
    let mut loss = F::zero();
    for (row, &y) in logits.rows().into_iter().zip(labels) {
        assert!(
            y < row.len(),
            "label {y} out of range for {} classes",
            row.len()
        );
        let max = row.fold(F::neg_infinity(), |m, &v| m.max(v));
        let log_sum = row.fold(F::zero(), |s, &v| s + (v - max).exp()).ln() + max;
        loss += log_sum - row[y];
    }
    let scale = F::one() / c(n as f64);
    let mut grad = softmax(logits);
    for (mut row, &y) in grad.rows_mut().into_iter().zip(labels) {
        row[y] -= F::one();
    }
    grad.mapv_inplace(|g| g * scale);
    (loss * scale, grad)
}

/// Mean squared error over all elements: `L = (1/M) Σ (p - t)²`, with
/// `∂L/∂p = 2 (p - t) / M` (Burn's and PyTorch's `MSELoss` convention).
pub fn mse<F: Float>(prediction: ArrayView2<'_, F>, target: ArrayView2<'_, F>) -> (F, Array2<F>) {
    assert_eq!(prediction.shape(), target.shape(), "mse: shapes differ");
    let m = c::<F>(prediction.len() as f64);
    let diff = &prediction - &target;
    let loss = diff.iter().map(|&d| d * d).sum::<F>() / m;
    let two_over_m = c::<F>(2.0) / m;
    (loss, diff.mapv(|d| d * two_over_m))
}

/// Mean absolute error over all elements (for reporting the sine fit).
pub fn mean_absolute_error<F: Float>(
    prediction: ArrayView2<'_, F>,
    target: ArrayView2<'_, F>,
) -> F {
    assert_eq!(
        prediction.shape(),
        target.shape(),
        "mean_absolute_error: shapes differ"
    );
    let sum = Zip::from(&prediction)
        .and(&target)
        .fold(F::zero(), |s, &p, &t| s + (p - t).abs());
    sum / c(prediction.len() as f64)
}

/// Index of the largest entry of each row (the predicted class).
pub fn argmax_rows<F: Float>(scores: ArrayView2<'_, F>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// Number of rows whose [`argmax_rows`] equals the label.
pub fn correct<F: Float>(scores: ArrayView2<'_, F>, labels: &[usize]) -> usize {
    argmax_rows(scores)
        .iter()
        .zip(labels)
        .filter(|(p, y)| p == y)
        .count()
}

/// The probabilities' row sums, for sanity checks.
pub fn row_sums<F: Float>(a: ArrayView2<'_, F>) -> Array1<F> {
    a.sum_axis(Axis(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_input_gradient};
    use crate::init::{rng, uniform};
    use ndarray::array;

    #[test]
    fn softmax_is_a_distribution_and_stable() {
        let p = softmax(array![[1000.0_f64, 1000.0, 999.0], [-5.0, 0.0, 5.0]].view());
        assert!(p.iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(row_sums(p.view()).iter().all(|s| (s - 1.0).abs() < 1e-12));
        assert!((p[[0, 0]] - p[[0, 1]]).abs() < 1e-15);
    }

    #[test]
    fn cross_entropy_value() {
        // Uniform logits over 4 classes: loss ln 4.
        let (l, _) =
            softmax_cross_entropy(ndarray::Array2::<f64>::zeros((3, 4)).view(), &[0, 1, 3]);
        assert!((l - 4.0_f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn cross_entropy_gradient_matches_finite_differences() {
        let z: ndarray::Array2<f64> = uniform((5, 4), 3.0, &mut rng(11));
        let labels = [0, 3, 2, 2, 1];
        let (_, analytic) = softmax_cross_entropy(z.view(), &labels);
        let numeric = numeric_input_gradient(&z, |z| softmax_cross_entropy(z.view(), &labels).0);
        assert_close(
            "cross-entropy",
            &analytic.view().into_dyn(),
            &numeric.view().into_dyn(),
            1e-4,
        );
    }

    #[test]
    fn mse_gradient_matches_finite_differences() {
        let mut g = rng(12);
        let p: ndarray::Array2<f64> = uniform((4, 3), 2.0, &mut g);
        let t: ndarray::Array2<f64> = uniform((4, 3), 2.0, &mut g);
        let (l, analytic) = mse(p.view(), t.view());
        assert!((l - (&p - &t).mapv(|d| d * d).mean().unwrap()).abs() < 1e-12);
        let numeric = numeric_input_gradient(&p, |p| mse(p.view(), t.view()).0);
        assert_close(
            "mse",
            &analytic.view().into_dyn(),
            &numeric.view().into_dyn(),
            1e-4,
        );
    }

    #[test]
    fn argmax_and_accuracy() {
        let s = array![[0.1_f32, 0.7, 0.2], [0.9, 0.05, 0.05], [0.2, 0.2, 0.6]];
        assert_eq!(argmax_rows(s.view()), vec![1, 0, 2]);
        assert_eq!(correct(s.view(), &[1, 0, 0]), 2);
        let mae = mean_absolute_error(array![[1.0_f64, -1.0]].view(), array![[0.5, 0.0]].view());
        assert!((mae - 0.75).abs() < 1e-15);
    }
}
