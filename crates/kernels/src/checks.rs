//! What the two kernel test files (`tests.rs` for flex, `cube/tests.rs`
//! for the GPU) check with: the same inputs, the same tolerance.

use burn::tensor::{Device, Tensor, TensorData};

/// Deterministic values of all signs and a few magnitudes, on `device`.
pub fn values_on<const D: usize>(shape: [usize; D], seed: f32, device: &Device) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i as f32 + seed) * 0.618).sin() * (1.0 + (i % 7) as f32 * 0.3) + 0.2)
        .collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// `fast` within `1e-4` of the largest magnitude of `stock`, value by value.
pub fn assert_close<const D: usize>(what: &str, fast: Tensor<D>, stock: Tensor<D>) {
    assert_eq!(fast.dims(), stock.dims(), "{what}: shape");
    let fast = fast.into_data().try_to_vec::<f32>().unwrap();
    let stock = stock.into_data().try_to_vec::<f32>().unwrap();
    let scale = stock.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in fast.iter().zip(&stock).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "{what}[{i}]: fast {a} vs stock {b} (scale {scale})"
        );
    }
}
