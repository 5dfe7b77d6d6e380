//! The hand-written gradients against Burn's autodiff: the same weights are
//! loaded into an equivalent network built from Burn's functional tensor ops
//! (`Device::flex().autodiff()`, f32), and every parameter gradient must
//! agree within 1e-4 relative error (‖hand − burn‖ / max(‖hand‖, ‖burn‖)).

use backprop::gradcheck::relative_error;
use backprop::init::{rng, uniform};
use backprop::loss::{mse, softmax_cross_entropy};
use backprop::{Activation, Cnn, CnnConfig, Dense, Mlp, MlpConfig, Parameters};
use burn::tensor::activation::{leaky_relu, log_softmax, relu, sigmoid, tanh};
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array, Array2, Array4, Dimension};

const TOL: f64 = 1e-4;

fn device() -> Device {
    Device::flex().autodiff()
}

/// A Burn tensor holding `a` (row-major), optionally tracked.
fn tensor<const D: usize, Dm: Dimension>(
    a: &Array<f32, Dm>,
    device: &Device,
    grad: bool,
) -> Tensor<D> {
    let shape: [usize; D] = a.shape().try_into().expect("rank");
    let t = Tensor::<D>::from_data(
        TensorData::new(a.iter().copied().collect::<Vec<f32>>(), shape),
        device,
    );
    if grad { t.require_grad() } else { t }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 data")
}

fn burn_activation<const D: usize>(act: Activation, x: Tensor<D>) -> Tensor<D> {
    match act {
        Activation::Sigmoid => sigmoid(x),
        Activation::LeakyRelu => leaky_relu(x, backprop::activation::LEAKY_RELU_SLOPE),
        Activation::Relu => relu(x),
        Activation::Tanh => tanh(x),
    }
}

/// Mean softmax cross-entropy, as `backprop::loss::softmax_cross_entropy`.
fn burn_cross_entropy(logits: Tensor<2>, labels: &[usize], device: &Device) -> Tensor<1> {
    let [n, classes] = logits.dims();
    let onehot = Array2::from_shape_fn(
        (n, classes),
        |(i, k)| if labels[i] == k { 1.0_f32 } else { 0.0 },
    );
    let onehot = tensor::<2, _>(&onehot, device, false);
    (log_softmax(logits, 1) * onehot)
        .sum()
        .neg()
        .div_scalar(n as f64)
}

/// Tracked copies of a dense layer's parameters and its forward pass.
struct BurnDense {
    weight: Tensor<2>,
    bias: Tensor<1>,
}

impl BurnDense {
    fn new(layer: &Dense<f32>, device: &Device) -> Self {
        BurnDense {
            weight: tensor(&layer.weight, device, true),
            bias: tensor(&layer.bias, device, true),
        }
    }
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone().transpose()) + self.bias.clone().unsqueeze::<2>()
    }
    fn grads(&self, grads: &burn::tensor::Gradients) -> Vec<Vec<f32>> {
        vec![
            values(self.weight.grad(grads).expect("weight grad")),
            values(self.bias.grad(grads).expect("bias grad")),
        ]
    }
}

/// Compares per-tensor gradients, returning the largest relative error.
fn compare(name: &str, hand: &impl Parameters<f32>, burn: &[Vec<f32>]) -> f64 {
    let hand = hand.tensors();
    assert_eq!(hand.len(), burn.len(), "{name}: tensor counts");
    let mut worst = 0.0_f64;
    for (i, (h, b)) in hand.iter().zip(burn).enumerate() {
        let h: Vec<f64> = h.iter().map(|&v| f64::from(v)).collect();
        let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
        let err = relative_error(&h, &b);
        assert!(err < TOL, "{name} tensor {i}: relative error {err:e}");
        assert!(
            h.iter().any(|&v| v != 0.0),
            "{name} tensor {i}: all-zero gradient"
        );
        worst = worst.max(err);
    }
    eprintln!("{name}: worst relative error {worst:e}");
    worst
}

fn fake_images(n: usize, seed: u64) -> Array4<f32> {
    let noise: Array4<f32> = uniform((n, 1, 28, 28), 1.0, &mut rng(seed));
    noise.mapv(|v| if v > 0.6 { 1.0 } else { 0.0 })
}

fn mlp_case(
    config: &MlpConfig,
    x: &Array2<f32>,
    labels: &[usize],
    regression: Option<&Array2<f32>>,
) {
    let device = device();
    let mut mlp = Mlp::<f32>::new(config);

    let (out, trace) = mlp.forward_train(x.view());
    let delta = match regression {
        Some(t) => mse(out.view(), t.view()).1,
        None => softmax_cross_entropy(out.view(), labels).1,
    };
    let hand = mlp.backward(&trace, delta.view());

    let layers: Vec<BurnDense> = mlp
        .layers
        .iter()
        .map(|l| BurnDense::new(l, &device))
        .collect();
    let mut a = tensor::<2, _>(x, &device, false);
    for (i, layer) in layers.iter().enumerate() {
        a = layer.forward(a);
        if i + 1 < layers.len() {
            a = burn_activation(mlp.activation, a);
        }
    }
    let burn_out = values(a.clone());
    let out_err = relative_error(
        &out.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        &burn_out.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
    );
    assert!(out_err < TOL, "forward outputs differ: {out_err:e}");
    let loss = match regression {
        Some(t) => (a - tensor::<2, _>(t, &device, false))
            .powi_scalar(2)
            .mean(),
        None => burn_cross_entropy(a, labels, &device),
    };
    let grads = loss.backward();
    let burn: Vec<Vec<f32>> = layers.iter().flat_map(|l| l.grads(&grads)).collect();
    compare(
        &format!("mlp {:?} {}", config.layers, config.activation),
        &hand,
        &burn,
    );
}

#[test]
fn hanzi_mlp_matches_burn_autodiff() {
    let x = fake_images(8, 1).into_shape_with_order((8, 784)).unwrap();
    let labels = [0, 1, 2, 3, 4, 5, 6, 11];
    mlp_case(&MlpConfig::default(), &x, &labels, None);
}

#[test]
fn mlp_every_activation_and_both_losses_match_burn_autodiff() {
    let mut g = rng(2);
    let x: Array2<f32> = uniform((6, 10), 2.0, &mut g);
    let target: Array2<f32> = uniform((6, 4), 1.0, &mut g);
    let labels = [3, 0, 1, 2, 2, 0];
    for activation in Activation::ALL {
        let config = MlpConfig {
            layers: vec![10, 16, 8, 4],
            activation,
            dropout: 0.0,
            seed: 3,
        };
        mlp_case(&config, &x, &labels, None);
        mlp_case(&config, &x, &labels, Some(&target));
    }
}

#[test]
fn hanzi_cnn_matches_burn_autodiff() {
    let device = device();
    let cnn = Cnn::<f32>::new(&CnnConfig::default());
    let x = fake_images(4, 4);
    let labels = [2, 7, 9, 11];

    let (logits, trace) = cnn.forward_train(x.view());
    let (_, delta) = softmax_cross_entropy(logits.view(), &labels);
    let hand = cnn.backward(&trace, delta.view());

    let w1 = tensor::<4, _>(&cnn.conv1.weight, &device, true);
    let b1 = tensor::<1, _>(&cnn.conv1.bias, &device, true);
    let w2 = tensor::<4, _>(&cnn.conv2.weight, &device, true);
    let b2 = tensor::<1, _>(&cnn.conv2.bias, &device, true);
    let fc = BurnDense::new(&cnn.fc, &device);
    let s1 = cnn.conv1.stride;
    let p1 = cnn.conv1.padding;
    let s2 = cnn.conv2.stride;
    let p2 = cnn.conv2.padding;

    let input = tensor::<4, _>(&x, &device, false);
    let a1 = relu(conv2d(
        input,
        w1.clone(),
        Some(b1.clone()),
        ConvOptions::new([s1, s1], [p1, p1], [1, 1], 1),
    ));
    let pooled = max_pool2d(a1, MaxPoolOptions::new([2, 2]));
    let a2 = relu(conv2d(
        pooled,
        w2.clone(),
        Some(b2.clone()),
        ConvOptions::new([s2, s2], [p2, p2], [1, 1], 1),
    ));
    let [n, c, h, w] = a2.dims();
    assert_eq!([c, h, w], [16, 7, 7]);
    let burn_logits = fc.forward(a2.reshape([n, c * h * w]));
    let burn_values = values(burn_logits.clone());
    let out_err = relative_error(
        &logits.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        &burn_values
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
    );
    assert!(out_err < TOL, "CNN logits differ: {out_err:e}");

    let grads = burn_cross_entropy(burn_logits, &labels, &device).backward();
    let mut burn = vec![
        values(w1.grad(&grads).expect("w1")),
        values(b1.grad(&grads).expect("b1")),
        values(w2.grad(&grads).expect("w2")),
        values(b2.grad(&grads).expect("b2")),
    ];
    burn.extend(fc.grads(&grads));
    compare("hanzi cnn", &hand, &burn);
}

/// A stride-2, padding-1 convolution whose input gradient is checked too
/// (the CNN's first layer never needs one).
#[test]
fn strided_conv_input_gradient_matches_burn_autodiff() {
    use backprop::{Conv2d, Init};
    let device = device();
    let mut g = rng(5);
    for &(h, s, p) in &[(14, 2, 1), (9, 2, 1), (8, 3, 0), (7, 1, 1)] {
        let conv = Conv2d::<f32>::new(3, 5, 3, s, p, Init::HeUniform, &mut g);
        let x: Array4<f32> = uniform((2, 3, h, h + 1), 1.0, &mut g);
        let (y, cache) = conv.forward(x.view());
        let r: Array4<f32> = uniform(y.raw_dim(), 1.0, &mut g);
        let (hand, dx) = conv.backward(&cache, r.view(), true);

        let xt = tensor::<4, _>(&x, &device, true);
        let wt = tensor::<4, _>(&conv.weight, &device, true);
        let bt = tensor::<1, _>(&conv.bias, &device, true);
        let yt = conv2d(
            xt.clone(),
            wt.clone(),
            Some(bt.clone()),
            ConvOptions::new([s, s], [p, p], [1, 1], 1),
        );
        assert_eq!(yt.dims(), [y.dim().0, y.dim().1, y.dim().2, y.dim().3]);
        let grads = (yt * tensor::<4, _>(&r, &device, false)).sum().backward();
        let name = format!("conv {h}x{} s{s} p{p}", h + 1);
        compare(
            &name,
            &hand,
            &[
                values(wt.grad(&grads).unwrap()),
                values(bt.grad(&grads).unwrap()),
            ],
        );
        let dx: Vec<f64> = dx.unwrap().iter().map(|&v| f64::from(v)).collect();
        let burn_dx: Vec<f64> = values(xt.grad(&grads).unwrap())
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let err = relative_error(&dx, &burn_dx);
        assert!(err < TOL, "{name} input: relative error {err:e}");
    }
}

/// Forward + backward throughput of the Hanzi12 CNN and MLP, hand-written
/// vs Burn autodiff on flex, batch 32 (no optimiser step in either).
/// Timing, not a check: `cargo test -p backprop --test burn_autodiff -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run explicitly"]
fn throughput_hand_vs_burn() {
    use std::time::Instant;
    const BATCH: usize = 32;
    const STEPS: usize = 100;
    let device = device();
    let x = fake_images(BATCH, 9);
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 12).collect();
    let rate = |start: Instant| (STEPS * BATCH) as f64 / start.elapsed().as_secs_f64();

    let cnn = Cnn::<f32>::new(&CnnConfig::default());
    let start = Instant::now();
    for _ in 0..STEPS {
        let (logits, trace) = cnn.forward_train(x.view());
        let (_, delta) = softmax_cross_entropy(logits.view(), &labels);
        std::hint::black_box(cnn.backward(&trace, delta.view()));
    }
    let hand_cnn = rate(start);

    let w1 = tensor::<4, _>(&cnn.conv1.weight, &device, true);
    let b1 = tensor::<1, _>(&cnn.conv1.bias, &device, true);
    let w2 = tensor::<4, _>(&cnn.conv2.weight, &device, true);
    let b2 = tensor::<1, _>(&cnn.conv2.bias, &device, true);
    let fc = BurnDense::new(&cnn.fc, &device);
    let burn_cnn_step = || {
        let input = tensor::<4, _>(&x, &device, false);
        let a1 = relu(conv2d(
            input,
            w1.clone(),
            Some(b1.clone()),
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        ));
        let pooled = max_pool2d(a1, MaxPoolOptions::new([2, 2]));
        let a2 = relu(conv2d(
            pooled,
            w2.clone(),
            Some(b2.clone()),
            ConvOptions::new([2, 2], [1, 1], [1, 1], 1),
        ));
        let logits = fc.forward(a2.reshape([BATCH, 784]));
        let grads = burn_cross_entropy(logits, &labels, &device).backward();
        // Reading one gradient back waits for the work to finish.
        values(w1.grad(&grads).unwrap())
    };
    burn_cnn_step();
    let start = Instant::now();
    for _ in 0..STEPS {
        std::hint::black_box(burn_cnn_step());
    }
    let burn_cnn = rate(start);

    let mut mlp = Mlp::<f32>::new(&MlpConfig::default());
    let flat = x.clone().into_shape_with_order((BATCH, 784)).unwrap();
    let start = Instant::now();
    for _ in 0..STEPS {
        let (out, trace) = mlp.forward_train(flat.view());
        let (_, delta) = softmax_cross_entropy(out.view(), &labels);
        std::hint::black_box(mlp.backward(&trace, delta.view()));
    }
    let hand_mlp = rate(start);
    let layers: Vec<BurnDense> = mlp
        .layers
        .iter()
        .map(|l| BurnDense::new(l, &device))
        .collect();
    let burn_mlp_step = || {
        let h = leaky_relu(
            layers[0].forward(tensor::<2, _>(&flat, &device, false)),
            0.01,
        );
        let grads = burn_cross_entropy(layers[1].forward(h), &labels, &device).backward();
        values(layers[0].weight.grad(&grads).unwrap())
    };
    burn_mlp_step();
    let start = Instant::now();
    for _ in 0..STEPS {
        std::hint::black_box(burn_mlp_step());
    }
    let burn_mlp = rate(start);
    eprintln!(
        "forward+backward images/s, batch {BATCH}: CNN hand {hand_cnn:.0} vs Burn flex {burn_cnn:.0}; \
         MLP hand {hand_mlp:.0} vs Burn flex {burn_mlp:.0}"
    );
}
