//! Finite-difference checks of the full-size networks (sampled parameter
//! elements) and short training runs: the hand-written backward passes must
//! agree with central differences to 1e-4 relative error and must actually
//! decrease the loss.

use backprop::gradcheck::{
    assert_close, assert_close_sampled, numeric_input_gradient, sampled_numeric_gradients,
};
use backprop::init::{rng, uniform};
use backprop::loss::{mse, softmax_cross_entropy};
use backprop::{
    Activation, Cnn, CnnConfig, Conv2d, Init, MaxPool2d, Mlp, MlpConfig, Parameters, Sgd,
};
use ndarray::{Array2, Array4};

const TOL: f64 = 1e-4;

/// Sparse, ink-like 28×28 images: mostly 0 with some 1s.
fn fake_images(n: usize, seed: u64) -> Array4<f64> {
    let noise: Array4<f64> = uniform((n, 1, 28, 28), 1.0, &mut rng(seed));
    noise.mapv(|v| if v > 0.6 { 1.0 } else { 0.0 })
}

#[test]
fn hanzi_cnn_gradients_match_finite_differences() {
    let mut cnn = Cnn::<f64>::new(&CnnConfig::default());
    let x = fake_images(2, 1);
    let labels = [3, 11];
    let (logits, trace) = cnn.forward_train(x.view());
    let (_, delta) = softmax_cross_entropy(logits.view(), &labels);
    let grads = cnn.backward(&trace, delta.view());
    let numeric = sampled_numeric_gradients(
        &mut cnn,
        |m| softmax_cross_entropy(m.forward(x.view()).view(), &labels).0,
        40,
        2,
    );
    for (i, (a, n)) in grads.tensors().iter().zip(&numeric).enumerate() {
        assert_close_sampled(&format!("hanzi cnn tensor {i}"), a, n, TOL);
    }
}

#[test]
fn hanzi_mlp_gradients_match_finite_differences() {
    for activation in Activation::ALL {
        let mut mlp = Mlp::<f64>::new(&MlpConfig {
            activation,
            ..MlpConfig::default()
        });
        let x = fake_images(3, 3).into_shape_with_order((3, 784)).unwrap();
        let labels = [0, 5, 7];
        let (out, trace) = mlp.forward_train(x.view());
        let (_, delta) = softmax_cross_entropy(out.view(), &labels);
        let grads = mlp.backward(&trace, delta.view());
        let numeric = sampled_numeric_gradients(
            &mut mlp,
            |m| softmax_cross_entropy(m.forward(x.view()).view(), &labels).0,
            30,
            4,
        );
        for (i, (a, n)) in grads.tensors().iter().zip(&numeric).enumerate() {
            assert_close_sampled(&format!("hanzi mlp {activation} tensor {i}"), a, n, TOL);
        }
    }
}

/// The CNN's second layer on its own: stride 2, padding 1, 14×14 input, every
/// kernel element and every input element.
#[test]
fn strided_padded_conv_input_gradient() {
    let conv = Conv2d::<f64>::new(3, 4, 3, 2, 1, Init::HeUniform, &mut rng(5));
    let mut g = rng(6);
    let x: Array4<f64> = uniform((2, 3, 14, 14), 1.0, &mut g);
    let r: Array4<f64> = uniform((2, 4, 7, 7), 1.0, &mut g);
    let (_, cache) = conv.forward(x.view());
    let (_, dx) = conv.backward(&cache, r.view(), true);
    let numeric = numeric_input_gradient(&x, |x| (conv.forward(x.view()).0 * &r).sum());
    assert_close(
        "conv s2 p1 input",
        &dx.unwrap().view().into_dyn(),
        &numeric.view().into_dyn(),
        TOL,
    );
}

/// Pooling followed by a smooth loss, through a ReLU, as in the CNN.
#[test]
fn relu_then_pool_gradient() {
    let pool = MaxPool2d::new(2);
    let mut g = rng(7);
    let x: Array4<f64> = uniform((2, 2, 8, 8), 1.0, &mut g);
    let r: Array4<f64> = uniform((2, 2, 4, 4), 1.0, &mut g);
    let f = |x: &Array4<f64>| {
        let a = Activation::Relu.forward(x);
        (pool.forward(a.view()).0.mapv(f64::tanh) * &r).sum()
    };
    let a = Activation::Relu.forward(&x);
    let (y, record) = pool.forward(a.view());
    let up = y.mapv(|v| 1.0 - v.tanh().powi(2)) * &r;
    let analytic = Activation::Relu.backward(&a, &pool.backward(&record, up.view()));
    let numeric = numeric_input_gradient(&x, f);
    assert_close(
        "relu→pool",
        &analytic.view().into_dyn(),
        &numeric.view().into_dyn(),
        TOL,
    );
}

/// A few SGD steps on one batch lower the loss of both networks.
#[test]
fn few_sgd_steps_reduce_the_loss() {
    let x = fake_images(16, 9).mapv(|v| v as f32);
    let labels: Vec<usize> = (0..16).map(|i| i % 12).collect();

    let mut cnn = Cnn::<f32>::new(&CnnConfig::default());
    let mut opt = Sgd::new(0.05, 0.9);
    let first = softmax_cross_entropy(cnn.forward(x.view()).view(), &labels).0;
    for _ in 0..15 {
        let (logits, trace) = cnn.forward_train(x.view());
        let (_, delta) = softmax_cross_entropy(logits.view(), &labels);
        let grads = cnn.backward(&trace, delta.view());
        opt.step(&mut cnn, &grads);
    }
    let last = softmax_cross_entropy(cnn.forward(x.view()).view(), &labels).0;
    assert!(last < 0.5 * first, "cnn loss {first} → {last}");

    let flat = x.into_shape_with_order((16, 784)).unwrap();
    let mut mlp = Mlp::<f32>::new(&MlpConfig {
        dropout: 0.1,
        ..MlpConfig::default()
    });
    let mut opt = Sgd::new(0.05, 0.9);
    let first = softmax_cross_entropy(mlp.forward(flat.view()).view(), &labels).0;
    for _ in 0..15 {
        let (out, trace) = mlp.forward_train(flat.view());
        let (_, delta) = softmax_cross_entropy(out.view(), &labels);
        let grads = mlp.backward(&trace, delta.view());
        opt.step(&mut mlp, &grads);
    }
    let last = softmax_cross_entropy(mlp.forward(flat.view()).view(), &labels).0;
    assert!(last < 0.5 * first, "mlp loss {first} → {last}");
}

/// The sine network's MSE drops within a few epochs.
#[test]
fn sine_regression_starts_learning() {
    let mut mlp = Mlp::<f64>::new(&MlpConfig {
        layers: vec![1, 16, 32, 1],
        activation: Activation::LeakyRelu,
        dropout: 0.0,
        seed: 0,
    });
    let xs: Array2<f64> = Array2::from_shape_fn((256, 1), |(i, _)| {
        -std::f64::consts::PI + i as f64 * std::f64::consts::TAU / 255.0
    });
    let ys = xs.mapv(f64::sin);
    let first = mse(mlp.forward(xs.view()).view(), ys.view()).0;
    let mut opt = Sgd::new(0.01, 0.0);
    for _ in 0..20 {
        for start in (0..256).step_by(16) {
            let xb = xs.slice(ndarray::s![start..start + 16, ..]);
            let yb = ys.slice(ndarray::s![start..start + 16, ..]);
            let (out, trace) = mlp.forward_train(xb);
            let (_, delta) = mse(out.view(), yb);
            let grads = mlp.backward(&trace, delta.view());
            opt.step(&mut mlp, &grads);
        }
    }
    let last = mse(mlp.forward(xs.view()).view(), ys.view()).0;
    assert!(last < 0.5 * first, "sine mse {first} → {last}");
}
