//! Inference speed of a loaded network, measured the way `predict`, `eval`
//! and `serve` run their forward passes: what `bench` and `serve-bench`
//! report.

use burn::prelude::*;
use dataset::{PIXELS, SIDE};
use models::Network;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

/// Batch of the large-batch inference figure.
pub const INFER_BATCH: usize = 256;

/// `size` random binary images at the real data's ink density (11 % ink),
/// `[size, 1, 28, 28]`: inputs for timing, whose values do not matter.
pub fn random_images(size: usize, device: &Device, rng: &mut StdRng) -> Tensor<4> {
    let pixels: Vec<f32> = (0..size * PIXELS)
        .map(|_| (rng.random::<f32>() < 0.11) as u8 as f32)
        .collect();
    Tensor::from_data(TensorData::new(pixels, [size, 1, SIDE, SIDE]), device)
}

/// Images per second of `model`'s forward pass at `batch`, over at least
/// `seconds`, after three warm-up passes; each pass read back to the host.
pub fn infer_throughput(model: &Network, device: &Device, batch: usize, seconds: f64) -> f64 {
    let mut rng = StdRng::seed_from_u64(2);
    let images = random_images(batch, device, &mut rng);
    for _ in 0..3 {
        let _ = model.forward(images.clone()).into_data();
    }
    let started = Instant::now();
    let mut done = 0;
    while started.elapsed().as_secs_f64() < seconds || done == 0 {
        let _ = model.forward(images.clone()).into_data();
        done += batch;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Inference images per second of `model` at batch 256 and at batch 1, on a
/// thread of rayon's pool, as `predict`, `eval` and `serve` run their passes.
pub fn inference_figures(model: &Network, device: &Device) -> (f64, f64) {
    kernels::on_pool_thread(|| {
        (
            infer_throughput(model, device, INFER_BATCH, 2.0),
            infer_throughput(model, device, 1, 1.0),
        )
    })
}
