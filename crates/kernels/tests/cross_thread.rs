//! GPU work recorded on one thread and used on another gives the values it
//! gives on one thread: Burn's own operations (no kernel of ours), on the
//! device [`kernels::wgpu_device`] starts, in the runtime mode of
//! [`kernels::prepare_gpu_runtime`].
//!
//! Without that mode (CubeCL's default, a stream per thread), Burn 0.22.1
//! loses writes here: an Adam-like update run each step on a new thread,
//! its gradient made on the calling thread, stops changing the parameters
//! from its second step (docs/gpu.md, "Two runtime switches", has the
//! figures). Where there is no wgpu adapter the tests say so and stop (and
//! fail under CI, which installs one).

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;

fn device() -> Option<Device> {
    match kernels::wgpu_device() {
        Ok(device) => Some(device),
        Err(reason) => {
            testdata::missing(&format!("{}: {reason}", testdata::NO_WGPU));
            None
        }
    }
}

fn values(n: usize, shift: f32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 37 % 101) as f32) * 0.01 + shift)
        .collect()
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Runs `work` on a new thread (so on a new stream, where each thread has
/// its own), or here.
fn run<R: Send>(new_thread: bool, work: impl FnOnce() -> R + Send) -> R {
    match new_thread {
        true => std::thread::scope(|s| s.spawn(work).join().expect("the work")),
        false => work(),
    }
}

/// Adam's moments, carried from step to step.
struct Moments {
    m1: Tensor<1>,
    m2: Tensor<1>,
    t: i32,
}

/// Burn's Adam update (`burn-optim` `AdaptiveMomentum::transform`), written
/// out with tensor operations.
fn adam(p: Tensor<1>, g: Tensor<1>, moments: Option<Moments>) -> (Tensor<1>, Moments) {
    let (b1, b2) = (0.9f32, 0.999f32);
    let m = match moments {
        Some(m) => Moments {
            m1: m.m1.mul_scalar(b1).add(g.clone().mul_scalar(1.0 - b1)),
            m2: m.m2.mul_scalar(b2).add(g.square().mul_scalar(1.0 - b2)),
            t: m.t + 1,
        },
        None => Moments {
            m1: g.clone().mul_scalar(1.0 - b1),
            m2: g.square().mul_scalar(1.0 - b2),
            t: 1,
        },
    };
    let c2 = (1.0 - b2.powi(m.t)).sqrt();
    let scale = c2 / (1.0 - b1.powi(m.t));
    let update =
        m.m1.clone()
            .mul_scalar(scale)
            .div(m.m2.clone().sqrt().add_scalar(1e-5 * c2));
    (p - update.mul_scalar(0.01), m)
}

/// Four Adam steps of a parameter vector, each gradient made here and each
/// update on a new thread (or here): the sum of the parameters before each
/// step, then the first values at the end.
fn adam_steps(device: &Device, new_threads: bool) -> Vec<f32> {
    let n = 4096;
    let mut p = Tensor::<1>::from_floats(values(n, 0.0).as_slice(), device);
    let mut moments = None;
    let mut seen = Vec::new();
    for step in 0..4 {
        seen.push(host(p.clone().sum())[0]);
        let g = (p.clone() * 0.3).sin() + step as f32;
        let state = moments.take();
        let (next, m) = run(new_threads, || adam(p.clone(), g, state));
        p = next;
        moments = Some(m);
    }
    seen.extend(host(p)[..4].iter().copied());
    seen
}

#[test]
fn an_update_on_another_thread_sees_the_last_steps_moments() {
    let Some(device) = device() else { return };
    let here = adam_steps(&device, false);
    let hopping = adam_steps(&device, true);
    assert_eq!(hopping, here, "updates on new threads against updates here");
}

/// Five steps of a linear layer trained by Burn's `Adam` on a squared
/// output, each optimizer step on a new thread (or here): the losses.
fn linear_losses(device: &Device, new_threads: bool) -> Vec<f32> {
    let device = device.clone().autodiff();
    let mut model: Linear =
        testdata::seeded_module(&device, 3, || LinearConfig::new(64, 8).init(&device));
    let mut optim = AdamConfig::new().init();
    let mut losses = Vec::new();
    for step in 0..5 {
        let x = TensorData::new(values(16 * 64, step as f32 * 0.1), [16, 64]);
        let loss = model
            .forward(Tensor::<2>::from_data(x, &device))
            .powf_scalar(2.0)
            .mean();
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let current = model.clone();
        model = run(new_threads, || optim.step(1e-2f64, current, grads));
    }
    losses
}

#[test]
fn burns_adam_on_another_thread_takes_the_same_steps() {
    let Some(device) = device() else { return };
    let here = linear_losses(&device, false);
    let hopping = linear_losses(&device, true);
    assert_eq!(
        hopping, here,
        "optimizer steps on new threads against steps here"
    );
}
