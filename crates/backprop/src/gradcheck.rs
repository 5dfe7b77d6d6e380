//! Central finite differences, for checking the hand-written gradients.
//!
//! All checks run in `f64`: with a step `h = 1e-5` the truncation error of a
//! central difference is `O(h²)` and the rounding error about `ε/h`, both far
//! below the `1e-4` relative tolerance.

use ndarray::{Array, ArrayD, ArrayViewD, Dimension};
use rand::RngExt;

use crate::init::rng;
use crate::optim::Parameters;

/// Default finite-difference step.
pub const STEP: f64 = 1e-5;

/// `(f(x+h) - f(x-h)) / 2h`.
pub fn central_difference(mut f: impl FnMut(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Perturbs element `index` (in memory order) of parameter tensor `tensor`
/// by `delta`.
fn nudge<M: Parameters<f64>>(model: &mut M, tensor: usize, index: usize, delta: f64) {
    let mut tensors = model.tensors_mut();
    let slice = tensors[tensor]
        .as_slice_memory_order_mut()
        .expect("parameters are contiguous");
    slice[index] += delta;
}

/// The numeric gradient of `loss` with respect to every element of every
/// parameter tensor of `model` (same order and shapes as
/// [`Parameters::tensors`]). Costs two loss evaluations per element: only
/// for small models.
pub fn numeric_gradients<M: Parameters<f64>>(
    model: &mut M,
    mut loss: impl FnMut(&M) -> f64,
) -> Vec<ArrayD<f64>> {
    let shapes: Vec<Vec<usize>> = model.tensors().iter().map(|t| t.shape().to_vec()).collect();
    let mut out = Vec::with_capacity(shapes.len());
    for (t, shape) in shapes.iter().enumerate() {
        let len: usize = shape.iter().product();
        let mut grad = Vec::with_capacity(len);
        for i in 0..len {
            grad.push(element_derivative(model, t, i, &mut loss));
        }
        out.push(ArrayD::from_shape_vec(shape.clone(), grad).expect("shape"));
    }
    out
}

fn element_derivative<M: Parameters<f64>>(
    model: &mut M,
    tensor: usize,
    index: usize,
    loss: &mut impl FnMut(&M) -> f64,
) -> f64 {
    nudge(model, tensor, index, STEP);
    let plus = loss(model);
    nudge(model, tensor, index, -2.0 * STEP);
    let minus = loss(model);
    nudge(model, tensor, index, STEP);
    (plus - minus) / (2.0 * STEP)
}

/// Numeric derivatives for at most `per_tensor` randomly chosen elements of
/// each parameter tensor (all of them when the tensor is smaller), for models
/// too big to difference completely. Returns, per tensor, the chosen
/// memory-order indices and the derivatives there.
pub fn sampled_numeric_gradients<M: Parameters<f64>>(
    model: &mut M,
    mut loss: impl FnMut(&M) -> f64,
    per_tensor: usize,
    seed: u64,
) -> Vec<(Vec<usize>, Vec<f64>)> {
    let lens: Vec<usize> = model.tensors().iter().map(|t| t.len()).collect();
    let mut g = rng(seed);
    lens.iter()
        .enumerate()
        .map(|(t, &len)| {
            let indices: Vec<usize> = if len <= per_tensor {
                (0..len).collect()
            } else {
                (0..per_tensor).map(|_| g.random_range(0..len)).collect()
            };
            let values = indices
                .iter()
                .map(|&i| element_derivative(model, t, i, &mut loss))
                .collect();
            (indices, values)
        })
        .collect()
}

/// The numeric gradient of `loss` with respect to the input array `x`.
pub fn numeric_input_gradient<D: Dimension>(
    x: &Array<f64, D>,
    mut loss: impl FnMut(&Array<f64, D>) -> f64,
) -> Array<f64, D> {
    let mut probe = x.as_standard_layout().into_owned();
    let mut grad = Array::zeros(x.raw_dim());
    let n = probe.len();
    for i in 0..n {
        let original = probe.as_slice().expect("standard layout")[i];
        probe.as_slice_mut().expect("standard layout")[i] = original + STEP;
        let plus = loss(&probe);
        probe.as_slice_mut().expect("standard layout")[i] = original - STEP;
        let minus = loss(&probe);
        probe.as_slice_mut().expect("standard layout")[i] = original;
        grad.as_slice_mut().expect("standard layout")[i] = (plus - minus) / (2.0 * STEP);
    }
    grad
}

/// Relative error `‖a - b‖ / max(‖a‖, ‖b‖)` (Euclidean norms over all
/// elements); 0 when both are zero.
pub fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "relative_error: lengths differ");
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let diff = norm(&mut a.iter().zip(b).map(|(x, y)| x - y));
    let scale = norm(&mut a.iter().copied()).max(norm(&mut b.iter().copied()));
    if scale == 0.0 { 0.0 } else { diff / scale }
}

/// Panics unless `analytic` and `numeric` have the same shape and a
/// [`relative_error`] below `tolerance`; returns the error.
pub fn assert_close(
    name: &str,
    analytic: &ArrayViewD<'_, f64>,
    numeric: &ArrayViewD<'_, f64>,
    tolerance: f64,
) -> f64 {
    assert_eq!(analytic.shape(), numeric.shape(), "{name}: shapes differ");
    let a: Vec<f64> = analytic.iter().copied().collect();
    let n: Vec<f64> = numeric.iter().copied().collect();
    let err = relative_error(&a, &n);
    assert!(
        err < tolerance,
        "{name}: relative error {err:e} ≥ {tolerance:e}\nanalytic {a:?}\nnumeric  {n:?}"
    );
    err
}

/// [`assert_close`] for a sampled check: compares `analytic` (the full
/// gradient tensor, memory order) at the sampled `indices` only.
pub fn assert_close_sampled(
    name: &str,
    analytic: &ArrayViewD<'_, f64>,
    sample: &(Vec<usize>, Vec<f64>),
    tolerance: f64,
) -> f64 {
    let flat = analytic.as_standard_layout();
    let flat = flat.as_slice().expect("standard layout");
    let a: Vec<f64> = sample.0.iter().map(|&i| flat[i]).collect();
    let err = relative_error(&a, &sample.1);
    assert!(
        err < tolerance,
        "{name}: relative error {err:e} ≥ {tolerance:e}\nanalytic {a:?}\nnumeric  {:?}",
        sample.1
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_basics() {
        assert_eq!(relative_error(&[0.0, 0.0], &[0.0, 0.0]), 0.0);
        assert!((relative_error(&[1.0, 0.0], &[1.1, 0.0]) - 0.1 / 1.1).abs() < 1e-12);
        assert!((central_difference(|x| x * x * x, 2.0, 1e-5) - 12.0).abs() < 1e-8);
    }
}
