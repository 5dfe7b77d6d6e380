//! The fast layers against Burn's stock operations: same values, same
//! gradients, on shapes that exercise padding, stride, dilation and a
//! missing bias.

use burn::backend::ops::ConvOptions;
use burn::tensor::{DType, Device, Tensor, TensorData};

use burn::backend::{Dispatch, DispatchTensor};
use burn::tensor::activation::relu;

use crate::checks::{assert_close, values_on};
use crate::flex::simd::each_unit;

use crate::{
    Epilogue, FastLayers, JoinPrimitive, JoinStats, NormInput, NormPrimitive, NormStats,
    accelerated, batch_norm_join_train, batch_norm_relu_train, batch_norm_train, conv2d,
    conv2d_relu,
};

fn device() -> Device {
    Device::flex().autodiff()
}

/// [`values_on`] the flex autodiff device.
fn values<const D: usize>(shape: [usize; D], seed: f32) -> Tensor<D> {
    values_on(shape, seed, &device())
}

#[test]
fn the_kernels_serve_flex_f32_only() {
    assert!(accelerated(&Device::flex(), DType::F32));
    assert!(accelerated(&Device::flex().autodiff(), DType::F32));
    assert!(!accelerated(&Device::flex(), DType::F64));
    #[allow(deprecated)]
    let ndarray = Device::ndarray();
    assert!(!accelerated(&ndarray, DType::F32));
}

/// One convolution through both paths: forward values and the gradients of
/// input, weight and bias for the same upstream gradient.
fn check_conv(x: [usize; 4], weight: [usize; 4], bias: bool, options: ConvOptions<2>) {
    check_conv_then(x, weight, bias, options, Epilogue::Identity);
}

/// [`check_conv`] for `activation(conv2d(x))`.
fn check_conv_then(
    x: [usize; 4],
    weight: [usize; 4],
    bias: bool,
    options: ConvOptions<2>,
    activation: Epilogue,
) {
    let run = |fast: bool| {
        let x = values(x, 1.0).require_grad();
        let w = values(weight, 2.0).mul_scalar(0.2).require_grad();
        let b = bias.then(|| values([weight[0]], 3.0).require_grad());
        let (x_, w_, b_, o_) = (x.clone(), w.clone(), b.clone(), options.clone());
        let out = match (fast, activation) {
            (true, Epilogue::Identity) => conv2d(x_, w_, b_, o_),
            (true, Epilogue::Relu) => conv2d_relu(x_, w_, b_, o_),
            (false, Epilogue::Identity) => burn::tensor::module::conv2d(x_, w_, b_, o_),
            (false, Epilogue::Relu) => relu(burn::tensor::module::conv2d(x_, w_, b_, o_)),
        };
        let upstream = values(out.dims(), 4.0);
        let grads = (out.clone() * upstream).sum().backward();
        let b_grad = b.map(|b| b.grad(&grads).unwrap());
        (
            out,
            x.grad(&grads).unwrap(),
            w.grad(&grads).unwrap(),
            b_grad,
        )
    };
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    assert_close("x grad", fast.1, stock.1);
    assert_close("weight grad", fast.2, stock.2);
    if let (Some(fast), Some(stock)) = (fast.3, stock.3) {
        assert_close("bias grad", fast, stock);
    }
}

/// The ReLU written with the output, and its mask in the backward: the
/// same values and gradients as a separate ReLU, for a batch and for one
/// image (whose matrix products share the threads).
#[test]
fn conv_relu_matches_stock() {
    let options = ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1);
    for images in [3, 1] {
        let x = [images, 4, 9, 7];
        check_conv_then(x, [5, 4, 3, 3], true, options.clone(), Epilogue::Relu);
    }
}

/// One image: its matrix products share the threads instead (see
/// `ConvGeometry::gemm_threads`).
#[test]
fn conv_on_a_single_image_matches_stock() {
    check_conv(
        [1, 8, 12, 10],
        [6, 8, 3, 3],
        true,
        ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1),
    );
}

#[test]
fn conv_3x3_padded_matches_stock() {
    check_conv(
        [3, 4, 9, 7],
        [5, 4, 3, 3],
        true,
        ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1),
    );
}

#[test]
fn conv_1x1_without_bias_matches_stock() {
    check_conv(
        [4, 1, 6, 6],
        [8, 1, 1, 1],
        false,
        ConvOptions::new_with_padding([1, 1], [(0, 0), (0, 0)], [1, 1], 1),
    );
}

#[test]
fn conv_strided_dilated_unevenly_padded_matches_stock() {
    check_conv(
        [2, 3, 11, 10],
        [4, 3, 3, 2],
        true,
        ConvOptions::new_with_padding([2, 3], [(2, 1), (0, 1)], [2, 1], 1),
    );
}

/// The backward pass computes only what is tracked: the input's gradient
/// alone (a frozen layer), or the parameters' alone (the network's input);
/// with and without a ReLU.
#[test]
fn conv_with_some_inputs_untracked_matches_stock() {
    let options = ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1);
    let cases = [true, false].map(|track| [(track, false), (track, true)]);
    for (track_input, with_relu) in cases.into_iter().flatten() {
        let run = |fast: bool| {
            let x = values([2, 3, 6, 5], 19.0);
            let x = if track_input { x.require_grad() } else { x };
            let w = values([4, 3, 3, 3], 20.0).mul_scalar(0.2);
            let w = if track_input { w } else { w.require_grad() };
            let (x_, w_, o_) = (x.clone(), w.clone(), options.clone());
            let out = match (fast, with_relu) {
                (true, false) => conv2d(x_, w_, None, o_),
                (true, true) => conv2d_relu(x_, w_, None, o_),
                (false, false) => burn::tensor::module::conv2d(x_, w_, None, o_),
                (false, true) => relu(burn::tensor::module::conv2d(x_, w_, None, o_)),
            };
            let grads = (out * values([2, 4, 6, 5], 21.0)).sum().backward();
            let tracked = if track_input {
                &x.grad(&grads)
            } else {
                &w.grad(&grads)
            };
            assert!(x.grad(&grads).is_some() == track_input);
            tracked.clone().unwrap()
        };
        assert_close("the tracked gradient", run(true), run(false));
    }
}

#[test]
fn conv_on_a_device_without_kernels_is_the_stock_op() {
    #[allow(deprecated)]
    let device = Device::ndarray();
    let x = Tensor::<4>::ones([1, 1, 4, 4], &device);
    let w = Tensor::<4>::ones([1, 1, 3, 3], &device);
    let options = ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1);
    let out = conv2d(x, w, None, options)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    // Corners see 4 of the 9 taps, edges 6, the middle 9.
    assert_eq!(&out[..4], &[4.0, 6.0, 6.0, 4.0]);
    assert_eq!(out[5], 9.0);
}

/// A BatchNorm's input and parameters, tracked, with values of all signs.
fn norm_input<const D: usize>(shape: [usize; D], seed: f32) -> NormInput<D> {
    let channels = shape[1];
    NormInput {
        x: values(shape, seed)
            .mul_scalar(3.0)
            .add_scalar(1.5)
            .require_grad(),
        gamma: values([channels], seed + 1.0).require_grad(),
        beta: values([channels], seed + 2.0).require_grad(),
        epsilon: 1e-5,
    }
}

/// What a check compares: the output, the batch statistics, and the
/// gradients of every input, gamma and beta.
type Outcome<const D: usize> = (Tensor<D>, Vec<Tensor<1>>, Vec<Tensor<D>>, Vec<Tensor<1>>);

/// `f` against `stock` on the same inputs and upstream gradient.
fn check_norms<const D: usize, const N: usize>(
    shape: [usize; D],
    f: impl Fn([NormInput<D>; N]) -> (Tensor<D>, Vec<NormStats>),
    stock: impl Fn([NormInput<D>; N]) -> (Tensor<D>, Vec<NormStats>),
) {
    let run = |fused: bool| -> Outcome<D> {
        let inputs: [_; N] = std::array::from_fn(|k| norm_input(shape, 5.0 + 3.0 * k as f32));
        let tracked: Vec<_> = inputs
            .iter()
            .map(|i| (i.x.clone(), i.gamma.clone(), i.beta.clone()))
            .collect();
        let (output, stats) = if fused { f(inputs) } else { stock(inputs) };
        let grads = (output.clone() * values(shape, 8.0)).sum().backward();
        let stats = stats.into_iter().flat_map(|s| [s.mean, s.variance]);
        let x_grads = tracked.iter().map(|(x, ..)| x.grad(&grads).unwrap());
        let param_grads = tracked
            .iter()
            .flat_map(|(_, gamma, beta)| [gamma.grad(&grads).unwrap(), beta.grad(&grads).unwrap()]);
        (
            output,
            stats.collect(),
            x_grads.collect(),
            param_grads.collect(),
        )
    };
    let stock = run(false);
    // The kernels on each vector unit this CPU has: close to the stock
    // operations, and the same bits on every unit.
    let mut first_unit: Option<Vec<f32>> = None;
    each_unit(|unit| {
        let fused = run(true);
        let bits = outcome_values(&fused);
        match &first_unit {
            None => first_unit = Some(bits),
            Some(first) => assert!(
                first
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(bits.iter().map(|v| v.to_bits())),
                "{unit:?} differs from the narrowest unit"
            ),
        }
        assert_close("output", fused.0, stock.0.clone());
        for (fused, stock) in fused.1.into_iter().zip(stock.1.clone()) {
            assert_close("mean or variance", fused, stock);
        }
        for (fused, stock) in fused.2.into_iter().zip(stock.2.clone()) {
            assert_close("input grad", fused, stock);
        }
        for (fused, stock) in fused.3.into_iter().zip(stock.3.clone()) {
            assert_close("gamma or beta grad", fused, stock);
        }
    });
}

/// Every value of an outcome, in order.
fn outcome_values<const D: usize>(outcome: &Outcome<D>) -> Vec<f32> {
    let (output, stats, x_grads, param_grads) = outcome;
    let flat = |t: &Tensor<D>| t.to_data().try_to_vec::<f32>().unwrap();
    let flat1 = |t: &Tensor<1>| t.to_data().try_to_vec::<f32>().unwrap();
    let mut values = flat(output);
    values.extend(stats.iter().flat_map(flat1));
    values.extend(x_grads.iter().flat_map(flat));
    values.extend(param_grads.iter().flat_map(flat1));
    values
}

/// Burn's training-mode BatchNorm.
fn stock_norm<const D: usize>(input: NormInput<D>) -> (Tensor<D>, NormStats) {
    let r = burn::tensor::module::batch_norm_train(input.x, input.gamma, input.beta, input.epsilon);
    let stats = NormStats {
        mean: r.mean,
        variance: r.variance,
    };
    (r.output, stats)
}

fn check_batch_norm<const D: usize>(shape: [usize; D]) {
    check_norms(
        shape,
        |[input]| {
            let (output, stats) = batch_norm_train(input);
            (output, vec![stats])
        },
        |[input]| {
            let (output, stats) = stock_norm(input);
            (output, vec![stats])
        },
    );
}

#[test]
fn batch_norm_relu_matches_stock() {
    for shape in [[5, 3, 7, 9], [2, 4, 3, 1]] {
        check_norms(
            shape,
            |[input]| {
                let (output, stats) = batch_norm_relu_train(input);
                (output, vec![stats])
            },
            |[input]| {
                let (output, stats) = stock_norm(input);
                (relu(output), vec![stats])
            },
        );
    }
}

#[test]
fn batch_norm_join_matches_stock() {
    check_norms(
        [4, 3, 6, 5],
        |[input, skip]| {
            let (output, stats) = batch_norm_join_train(input, skip);
            (output, stats.into())
        },
        |[input, skip]| {
            let ((output, stats), (skip_output, skip_stats)) =
                (stock_norm(input), stock_norm(skip));
            (relu(output + skip_output), vec![stats, skip_stats])
        },
    );
}

/// The stock compositions behind the trait's default bodies (what another
/// backend would run) give the kernels' gradients.
#[test]
fn stock_join_backward_matches_the_kernel() {
    // On flex itself, where the kernels run without autodiff around them.
    fn plain<const D: usize>(t: Tensor<D>) -> DispatchTensor {
        Tensor::<D>::from_data(t.into_data(), &Device::flex()).into_dispatch()
    }
    let shape = [3, 2, 4, 5];
    let norm = |seed: f32| {
        let input = norm_input(shape, seed);
        NormPrimitive {
            x: plain(input.x),
            gamma: plain(input.gamma),
            beta: plain(input.beta),
            epsilon: input.epsilon,
        }
    };
    let join = JoinPrimitive {
        input: norm(1.0),
        skip: norm(2.0),
    };
    let stats: JoinStats<Dispatch> = Dispatch::batch_norm_join_fast(join.clone()).stats;
    let dy = plain(values(shape, 3.0));
    let fused = Dispatch::batch_norm_join_fast_backward(join.clone(), stats.clone(), dy.clone());
    let stock = crate::stock::batch_norm_join_backward::<Dispatch>(join, stats, dy);
    let as_4d = |t| Tensor::<4>::from_dispatch(t);
    let as_1d = |t| Tensor::<1>::from_dispatch(t);
    for (fused, stock) in [(fused.input, stock.input), (fused.skip, stock.skip)] {
        assert_close("x grad", as_4d(fused.x), as_4d(stock.x));
        assert_close("gamma grad", as_1d(fused.gamma), as_1d(stock.gamma));
        assert_close("beta grad", as_1d(fused.beta), as_1d(stock.beta));
    }
}

#[test]
fn batch_norm_over_images_matches_stock() {
    check_batch_norm([5, 3, 7, 9]);
}

#[test]
fn batch_norm_over_features_matches_stock() {
    check_batch_norm([16, 6]);
}

#[test]
fn batch_norm_statistics_are_those_of_the_batch() {
    // Channel 0 holds 1, 2, 3, 4 (mean 2.5, biased variance 1.25), channel 1 all 7.
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 7.0, 2.0, 7.0, 3.0, 7.0, 4.0, 7.0], [4, 2]),
        &device(),
    );
    let (_, r) = batch_norm_train(NormInput {
        x,
        gamma: Tensor::ones([2], &device()),
        beta: Tensor::zeros([2], &device()),
        epsilon: 1e-5,
    });
    assert_eq!(
        r.mean.into_data().try_to_vec::<f32>().unwrap(),
        vec![2.5, 7.0]
    );
    let variance = r.variance.into_data().try_to_vec::<f32>().unwrap();
    assert!((variance[0] - 1.25).abs() < 1e-6 && variance[1] == 0.0);
}

/// Evaluation mode, plain and fused with a ReLU or a join, against Burn's
/// `batch_norm`, on flex with and without autodiff.
#[test]
fn batch_norm_eval_matches_stock_on_both_devices() {
    for device in [Device::flex(), device()] {
        let on = |t: Tensor<1>| Tensor::<1>::from_data(t.into_data(), &device);
        // A BatchNorm's input, parameters and running statistics.
        let norm = |seed: f32| {
            let shape = [3, 4, 5, 2];
            let input = NormInput {
                x: Tensor::<4>::from_data(values(shape, seed).into_data(), &device),
                gamma: on(values([4], seed + 1.0)),
                beta: on(values([4], seed + 2.0)),
                epsilon: 1e-5,
            };
            let running = NormStats {
                mean: on(values([4], seed + 3.0)),
                variance: on(values([4], seed + 4.0).abs()),
            };
            (input, running)
        };
        let stock = |(input, running): (NormInput<4>, NormStats)| {
            burn::tensor::module::batch_norm(
                input.x,
                input.gamma,
                input.beta,
                running.mean,
                running.variance,
                input.epsilon,
            )
        };
        let (a, b) = (9.0, 19.0);
        let (input, running) = norm(a);
        assert_close(
            "eval",
            crate::batch_norm_eval(input, running),
            stock(norm(a)),
        );
        let (input, running) = norm(a);
        let fused = crate::batch_norm_relu_eval(input, running);
        assert_close("eval + relu", fused, relu(stock(norm(a))));
        let fused = crate::batch_norm_join_eval(norm(a), norm(b));
        assert_close("eval join", fused, relu(stock(norm(a)) + stock(norm(b))));
    }
}

#[test]
fn add_relu_matches_stock() {
    let run = |fast: bool| {
        let a = values([3, 4, 5, 6], 14.0).require_grad();
        let b = values([3, 4, 5, 6], 15.0).neg().require_grad();
        let out = if fast {
            crate::add_relu(a.clone(), b.clone())
        } else {
            burn::tensor::activation::relu(a.clone() + b.clone())
        };
        let grads = (out.clone() * values([3, 4, 5, 6], 16.0)).sum().backward();
        (out, a.grad(&grads).unwrap(), b.grad(&grads).unwrap())
    };
    let stock = run(false);
    each_unit(|_| {
        let fast = run(true);
        assert_close("output", fast.0, stock.0.clone());
        assert_close("a grad", fast.1, stock.1.clone());
        assert_close("b grad", fast.2, stock.2.clone());
    });
}

#[test]
fn tiled_average_pooling_matches_stock() {
    let run = |fast: bool| {
        let x = values([2, 3, 8, 12], 17.0).require_grad();
        let out = if fast {
            crate::avg_pool2d_tiled(x.clone(), [4, 3])
        } else {
            let options = burn::tensor::ops::AvgPoolOptions::new([4, 3]).with_stride([4, 3]);
            burn::tensor::module::avg_pool2d(x.clone(), options)
        };
        let grads = (out.clone() * values([2, 3, 2, 4], 18.0)).sum().backward();
        (out, x.grad(&grads).unwrap())
    };
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    assert_close("x grad", fast.1, stock.1);
}

/// The fused Adam update gives Burn's operation-by-operation result, to the
/// bit, with and without weight decay, on every vector unit this CPU has;
/// tensors of two ranks in one call.
#[test]
fn adam_steps_match_stock_exactly() {
    let flex = |shape: [usize; 2], seed: f32| {
        Tensor::<2>::from_data(values(shape, seed).into_data(), &Device::flex()).into_dispatch()
    };
    let cases = [None, Some(0.01)];
    each_unit(|_| {
        cases.iter().for_each(|&weight_decay| {
            let step = crate::AdamStep::new([0.9, 0.999, 1e-8], 3, 1e-3, weight_decay);
            let update = |shape| crate::AdamUpdate {
                param: flex(shape, 1.0),
                grad: flex(shape, 2.0),
                moment_1: flex(shape, 3.0),
                moment_2: Tensor::<2>::from_dispatch(flex(shape, 4.0))
                    .abs()
                    .into_dispatch(),
                step,
            };
            let updates = vec![update([37, 1000]), update([1, 300])];
            let fused = crate::adam_steps(updates.clone());
            for (fused, update) in fused.into_iter().zip(updates) {
                let state = crate::AdamState {
                    param: update.param,
                    moment_1: update.moment_1,
                    moment_2: update.moment_2,
                };
                let stock = crate::stock::adam_step::<Dispatch>(state, update.grad, step);
                let pairs = [
                    (fused.param, stock.param),
                    (fused.moment_1, stock.moment_1),
                    (fused.moment_2, stock.moment_2),
                ];
                for (fused, stock) in pairs
                    .map(|(f, s)| (Tensor::<2>::from_dispatch(f), Tensor::<2>::from_dispatch(s)))
                {
                    assert_eq!(
                        fused.into_data().try_to_vec::<f32>().unwrap(),
                        stock.into_data().try_to_vec::<f32>().unwrap()
                    );
                }
            }
        })
    });
}
