//! The GPU kernels against Burn's stock operations on the same wgpu device
//! (a real GPU, or Mesa's lavapipe on CI): values, gradients and launch
//! counts. Where there is no adapter each test says so in one line and
//! stops (under CI it fails: `testdata::missing`). The tests take turns (one
//! lock): launches are counted process-wide.

use std::sync::{Mutex, MutexGuard};

use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::checks::{assert_close, values_on as values};
use crate::launches::{Launches, count};
use crate::{NormInput, NormStats, batch_norm_join_train, batch_norm_relu_train, batch_norm_train};

/// The wgpu device, and this test's turn on it; `None` (said in one line,
/// or under CI a failure) where there is no adapter.
fn gpu() -> Option<(Device, MutexGuard<'static, ()>)> {
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    match crate::wgpu_device() {
        Ok(device) => Some((device, turn)),
        Err(reason) => {
            testdata::missing(&format!("{}: {reason}", testdata::NO_WGPU));
            None
        }
    }
}

/// The kernels launched by `work`, after one run of it (so the kernels are
/// compiled and any autotuning is done).
fn launches_of<R>(device: &Device, mut work: impl FnMut() -> R) -> Launches {
    let _ = work();
    count(device, work).1
}

fn norm_input(x: Tensor<4>, seed: f32) -> NormInput<4> {
    let channels = x.dims()[1];
    let device = x.device();
    NormInput {
        x,
        gamma: values([channels], seed, &device).add_scalar(1.0),
        beta: values([channels], seed + 1.0, &device),
        epsilon: 1e-5,
    }
}

fn stock_train(input: NormInput<4>) -> (Tensor<4>, NormStats) {
    let r = burn::tensor::module::batch_norm_train(input.x, input.gamma, input.beta, input.epsilon);
    (
        r.output,
        NormStats {
            mean: r.mean,
            variance: r.variance,
        },
    )
}

fn assert_same_stats(fast: NormStats, stock: NormStats) {
    assert_close("mean", fast.mean, stock.mean);
    assert_close("variance", fast.variance, stock.variance);
}

/// BatchNorm (plain, with ReLU, and the residual join) in training mode:
/// outputs, statistics and the gradients of every input, on a contiguous
/// input and on a channels-last one (as Burn's convolution writes).
#[test]
fn batch_norm_matches_stock_on_the_gpu() {
    let Some((device, _turn)) = gpu() else { return };
    let device = device.autodiff();
    let contiguous = values([3, 5, 6, 4], 1.0, &device);
    let channels_last = values([3, 6, 4, 5], 2.0, &device).permute([0, 3, 1, 2]);
    for x in [contiguous, channels_last] {
        check_norm(x.clone(), false);
        check_norm(x, true);
    }
}

fn check_norm(x: Tensor<4>, with_relu: bool) {
    let device = x.device();
    let upstream = values(x.dims(), 7.0, &device);
    let run = |fast: bool| {
        let x = x.clone().detach().require_grad();
        let input = norm_input(x.clone(), 3.0);
        let (gamma, beta) = (
            input.gamma.clone().require_grad(),
            input.beta.clone().require_grad(),
        );
        let input = NormInput {
            gamma: gamma.clone(),
            beta: beta.clone(),
            ..input
        };
        let (out, stats) = match (fast, with_relu) {
            (true, false) => batch_norm_train(input),
            (true, true) => batch_norm_relu_train(input),
            (false, false) => stock_train(input),
            (false, true) => {
                let (out, stats) = stock_train(input);
                (relu(out), stats)
            }
        };
        let grads = (out.clone() * upstream.clone()).sum().backward();
        let g = |t: &Tensor<1>| t.grad(&grads).unwrap();
        (out, stats, x.grad(&grads).unwrap(), g(&gamma), g(&beta))
    };
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    assert_same_stats(fast.1, stock.1);
    assert_close("x grad", fast.2, stock.2);
    assert_close("gamma grad", fast.3, stock.3);
    assert_close("beta grad", fast.4, stock.4);
}

#[test]
fn batch_norm_join_matches_stock_on_the_gpu() {
    let Some((device, _turn)) = gpu() else { return };
    let device = device.autodiff();
    let shape = [2, 4, 5, 3];
    let upstream = values(shape, 9.0, &device);
    let run = |fast: bool| {
        let x = values(shape, 1.0, &device).require_grad();
        let skip = values(shape, 2.0, &device).mul_scalar(-0.7).require_grad();
        let (a, b) = (norm_input(x.clone(), 3.0), norm_input(skip.clone(), 5.0));
        let (out, stats) = match fast {
            true => batch_norm_join_train(a, b),
            false => {
                let ((a, sa), (b, sb)) = (stock_train(a), stock_train(b));
                (relu(a + b), [sa, sb])
            }
        };
        let grads = (out.clone() * upstream.clone()).sum().backward();
        (
            out,
            stats,
            x.grad(&grads).unwrap(),
            skip.grad(&grads).unwrap(),
        )
    };
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    for (f, s) in fast.1.into_iter().zip(stock.1) {
        assert_same_stats(f, s);
    }
    assert_close("x grad", fast.2, stock.2);
    assert_close("skip grad", fast.3, stock.3);
}

/// Cross-entropy with and without label smoothing: the loss, the logits'
/// gradient and the count of right rows, against Burn's loss and argmax.
#[test]
fn cross_entropy_matches_stock_on_the_gpu() {
    let Some((device, _turn)) = gpu() else { return };
    let device = device.autodiff();
    let targets: Tensor<1, Int> =
        Tensor::from_data(TensorData::new(vec![3i64, 0, 11, 5, 5], [5]), &device);
    for smoothing in [None, Some(0.1)] {
        let run = |fast: bool| {
            let logits = values([5, 12], 4.0, &device).mul_scalar(3.0).require_grad();
            let (loss, correct) = match fast {
                true => crate::cross_entropy(logits.clone(), targets.clone(), smoothing),
                false => crate::loss::stock(logits.clone(), targets.clone(), smoothing),
            };
            let grads = loss.clone().mul_scalar(2.5).backward();
            (loss, correct, logits.grad(&grads).unwrap())
        };
        let (fast, stock) = (run(true), run(false));
        assert_close("loss", fast.0, stock.0);
        assert_close("correct", fast.1, stock.1);
        assert_close("logits grad", fast.2, stock.2);
    }
}

/// Adam on the GPU against Burn's operations, with and without weight
/// decay: tensors of two shapes and ranks in one call (one launch).
#[test]
fn adam_matches_stock_on_the_gpu() {
    let Some((device, _turn)) = gpu() else { return };
    for decay in [None, Some(0.05)] {
        let step = crate::AdamStep::new([0.9, 0.999, 1e-8], 3, 1e-2, decay);
        let update = |shape: [usize; 2]| {
            let [param, grad, moment_1, moment_2] =
                [1.0, 2.0, 3.0, 4.0].map(|seed| values(shape, seed, &device));
            crate::AdamUpdate {
                param: param.into_dispatch(),
                grad: grad.into_dispatch(),
                moment_1: moment_1.into_dispatch(),
                moment_2: moment_2.abs().into_dispatch(),
                step,
            }
        };
        let updates = vec![update([4, 6]), update([1, 5])];
        let fast = crate::adam_steps(updates.clone());
        for (fast, update) in fast.into_iter().zip(updates) {
            let state = crate::AdamState {
                param: update.param,
                moment_1: update.moment_1,
                moment_2: update.moment_2,
            };
            let stock =
                crate::stock::adam_step::<burn::backend::Dispatch>(state, update.grad, step);
            let pairs = [
                ("param", fast.param, stock.param),
                ("moment 1", fast.moment_1, stock.moment_1),
                ("moment 2", fast.moment_2, stock.moment_2),
            ];
            for (what, f, s) in pairs {
                assert_close(
                    what,
                    Tensor::<2>::from_dispatch(f),
                    Tensor::<2>::from_dispatch(s),
                );
            }
        }
    }
}

/// Each layer's training forward is one kernel launch.
#[test]
fn each_layer_is_one_launch_on_the_gpu() {
    let Some((device, _turn)) = gpu() else { return };
    let device = device.autodiff();
    let x = values([2, 4, 5, 3], 1.0, &device);
    let (a, b) = (norm_input(x.clone(), 3.0), norm_input(x, 5.0));
    let copy = |n: &NormInput<4>| NormInput {
        x: n.x.clone(),
        gamma: n.gamma.clone(),
        beta: n.beta.clone(),
        epsilon: n.epsilon,
    };
    let join = launches_of(&device, || {
        batch_norm_join_train(copy(&a), copy(&b)).0.into_data()
    });
    assert_eq!(join.total(), 1, "{join:?}");
    let plain = launches_of(&device, || batch_norm_relu_train(copy(&a)).0.into_data());
    assert_eq!(plain.total(), 1, "{plain:?}");
}
