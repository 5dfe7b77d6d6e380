//! The fast layers against Burn's stock operations: same values, same
//! gradients, on shapes that exercise padding, stride, dilation and a
//! missing bias.

use burn::backend::ops::ConvOptions;
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::{accelerated, batch_norm_train, conv2d};

fn device() -> Device {
    Device::flex().autodiff()
}

/// Deterministic values of all signs and a few magnitudes.
fn values<const D: usize>(shape: [usize; D], seed: f32) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n)
        .map(|i| ((i as f32 + seed) * 0.618).sin() * (1.0 + (i % 7) as f32 * 0.3) + 0.2)
        .collect();
    Tensor::from_data(TensorData::new(data, shape), &device())
}

fn assert_close<const D: usize>(what: &str, fast: Tensor<D>, stock: Tensor<D>) {
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
    let run = |fast: bool| {
        let x = values(x, 1.0).require_grad();
        let w = values(weight, 2.0).mul_scalar(0.2).require_grad();
        let b = bias.then(|| values([weight[0]], 3.0).require_grad());
        let out = if fast {
            conv2d(x.clone(), w.clone(), b.clone(), options.clone())
        } else {
            burn::tensor::module::conv2d(x.clone(), w.clone(), b.clone(), options.clone())
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
/// alone (a frozen layer), or the parameters' alone (the network's input).
#[test]
fn conv_with_some_inputs_untracked_matches_stock() {
    let options = ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1);
    for track_input in [true, false] {
        let run = |fast: bool| {
            let x = values([2, 3, 6, 5], 19.0);
            let x = if track_input { x.require_grad() } else { x };
            let w = values([4, 3, 3, 3], 20.0).mul_scalar(0.2);
            let w = if track_input { w } else { w.require_grad() };
            let out = if fast {
                conv2d(x.clone(), w.clone(), None, options.clone())
            } else {
                burn::tensor::module::conv2d(x.clone(), w.clone(), None, options.clone())
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

fn check_batch_norm<const D: usize>(shape: [usize; D]) {
    let channels = shape[1];
    let run = |fast: bool| {
        let x = values(shape, 5.0)
            .mul_scalar(3.0)
            .add_scalar(1.5)
            .require_grad();
        let gamma = values([channels], 6.0).require_grad();
        let beta = values([channels], 7.0).require_grad();
        let (output, mean, variance) = if fast {
            let r = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
            (r.output, r.mean, r.variance)
        } else {
            let r = burn::tensor::module::batch_norm_train(
                x.clone(),
                gamma.clone(),
                beta.clone(),
                1e-5,
            );
            (r.output, r.mean, r.variance)
        };
        let upstream = values(shape, 8.0);
        let grads = (output.clone() * upstream).sum().backward();
        (
            output,
            mean,
            variance,
            x.grad(&grads).unwrap(),
            gamma.grad(&grads).unwrap(),
            beta.grad(&grads).unwrap(),
        )
    };
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    assert_close("mean", fast.1, stock.1);
    assert_close("variance", fast.2, stock.2);
    assert_close("x grad", fast.3, stock.3);
    assert_close("gamma grad", fast.4, stock.4);
    assert_close("beta grad", fast.5, stock.5);
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
    let r = batch_norm_train(
        x,
        Tensor::ones([2], &device()),
        Tensor::zeros([2], &device()),
        1e-5,
    );
    assert_eq!(
        r.mean.into_data().try_to_vec::<f32>().unwrap(),
        vec![2.5, 7.0]
    );
    let variance = r.variance.into_data().try_to_vec::<f32>().unwrap();
    assert!((variance[0] - 1.25).abs() < 1e-6 && variance[1] == 0.0);
}

#[test]
fn batch_norm_eval_matches_stock_on_both_devices() {
    for device in [Device::flex(), device()] {
        let shape = [3, 4, 5, 2];
        let x = values(shape, 9.0).to_device(&device);
        let [gamma, beta, mean] = [10.0, 11.0, 12.0].map(|s| values([4], s).to_device(&device));
        let variance = values([4], 13.0).abs().to_device(&device);
        let fast = crate::batch_norm_eval(
            x.clone(),
            gamma.clone(),
            beta.clone(),
            mean.clone(),
            variance.clone(),
            1e-5,
        );
        let stock = burn::tensor::module::batch_norm(x, gamma, beta, mean, variance, 1e-5);
        assert_close("eval output", fast, stock);
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
    let (fast, stock) = (run(true), run(false));
    assert_close("output", fast.0, stock.0);
    assert_close("a grad", fast.1, stock.1);
    assert_close("b grad", fast.2, stock.2);
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
