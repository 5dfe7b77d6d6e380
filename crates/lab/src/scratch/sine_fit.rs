//! The report's check of the BP network: an MLP fitting sin x on [-π, π]
//! with MSE and plain mini-batch SGD.

use anyhow::{Result, ensure};
use backprop::init::rng;
use backprop::loss::{mean_absolute_error, mse};
use backprop::ndarray::Array2;
use backprop::{Activation, Mlp, MlpConfig};
use rand::RngExt;
use std::f64::consts::PI;
use std::path::Path;
use std::time::Instant;

use super::{Training, batches, check_dropout, gather};

/// Evenly spaced test points on [-π, π].
const TEST_POINTS: usize = 1000;

/// The sine fit's settings; `Default` is the report's.
#[derive(Clone, Debug, PartialEq)]
pub struct SineConfig {
    pub training: Training,
    /// Layer sizes, input first: one input, one output.
    pub layers: Vec<usize>,
    /// Dropout probability after each hidden layer.
    pub dropout: f64,
    /// Random training points.
    pub points: usize,
}

impl Default for SineConfig {
    fn default() -> Self {
        SineConfig {
            training: Training {
                epochs: 800,
                lr: 0.01,
                momentum: 0.0,
                batch_size: 16,
                activation: Activation::LeakyRelu,
                seed: 0,
            },
            layers: vec![1, 16, 32, 1],
            dropout: 0.0,
            points: 4000,
        }
    }
}

impl SineConfig {
    fn check(&self) -> Result<()> {
        self.training.check()?;
        check_dropout(self.dropout)?;
        let layers = &self.layers;
        ensure!(
            layers.len() >= 2 && layers[0] == 1 && layers[layers.len() - 1] == 1,
            "sine: --layers must start and end with 1, got {layers:?}"
        );
        ensure!(self.points > 0, "--sine-points must be at least 1");
        Ok(())
    }
}

/// What a sine fit learned and how well: the study's figures come from it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SineFit {
    /// Training MSE of each epoch.
    pub train_mse: Vec<f64>,
    /// Mean absolute error on the test points after each epoch.
    pub test_mae: Vec<f64>,
    /// The evenly spaced test points on [-π, π] and the network's output there.
    pub x: Vec<f64>,
    pub prediction: Vec<f64>,
    pub max_error: f64,
    pub seconds: f64,
}

impl SineFit {
    /// Mean absolute test error at the end of training.
    pub fn mae(&self) -> f64 {
        self.test_mae.last().copied().unwrap_or(f64::NAN)
    }
}

/// `trainer scratch --task sine`: the fit, with progress and a final line;
/// saved into `out` when given.
pub(super) fn run<F: backprop::Float>(config: &SineConfig, out: Option<&Path>) -> Result<()> {
    let fit = fit_sine::<F>(config, true)?;
    if let Some(dir) = out {
        fit.save(dir)?;
    }
    let epochs = fit.train_mse.len();
    let mae = fit.mae();
    println!(
        "final: sine fit mean absolute test error {mae:.5} (max {:.4}) on {} points in [-π, π] \
         after {epochs} epochs ({:.1} s); target ≤ 0.01: {}",
        fit.max_error,
        fit.x.len(),
        fit.seconds,
        if mae <= 0.01 {
            "reached"
        } else {
            "NOT reached"
        }
    );
    Ok(())
}

/// Fits sin x as `config` says; `verbose` prints 20 progress lines.
pub fn fit_sine<F: backprop::Float>(config: &SineConfig, verbose: bool) -> Result<SineFit> {
    config.check()?;
    let Training {
        epochs,
        lr,
        momentum,
        batch_size: batch,
        activation,
        seed,
    } = config.training;
    let layers = &config.layers;

    let (x_train, y_train) = training_points::<F>(config.points, seed);
    let (x_test, y_test) = test_points::<F>();

    let mut mlp = Mlp::<F>::new(&MlpConfig {
        layers: layers.clone(),
        activation,
        dropout: config.dropout,
        seed,
    });
    let mut opt = backprop::Sgd::new(F::from_f64(lr), F::from_f64(momentum));
    if verbose {
        println!(
            "scratch sine: MLP {layers:?} {activation}, {} training points on [-π, π], batch {batch}, lr {lr}, momentum {momentum}, {epochs} epochs",
            config.points
        );
    }
    let mut shuffle = rng(seed.wrapping_add(200));
    let start = Instant::now();
    let report_every = (epochs / 20).max(1);
    let (mut train_mse, mut test_mae) = (Vec::new(), Vec::new());
    for epoch in 1..=epochs {
        let epoch_mse = train_epoch(
            &mut mlp,
            &mut opt,
            (&x_train, &y_train),
            batch,
            &mut shuffle,
        );
        let pred = mlp.forward(x_test.view());
        let mae = mean_absolute_error(pred.view(), y_test.view()).as_f64();
        train_mse.push(epoch_mse);
        test_mae.push(mae);
        if verbose && (epoch % report_every == 0 || epoch == epochs) {
            println!(
                "epoch {epoch:>4}/{epochs}  train mse {epoch_mse:.6}  test mean |error| {mae:.5}"
            );
        }
    }
    let pred = mlp.forward(x_test.view());
    let max_error = pred
        .iter()
        .zip(&y_test)
        .map(|(p, y)| (p.as_f64() - y.as_f64()).abs())
        .fold(0.0_f64, f64::max);
    Ok(SineFit {
        train_mse,
        test_mae,
        x: x_test.iter().map(|v| v.as_f64()).collect(),
        prediction: pred.iter().map(|v| v.as_f64()).collect(),
        max_error,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// `points` inputs drawn uniformly from [-π, π], with their sines.
fn training_points<F: backprop::Float>(points: usize, seed: u64) -> (Array2<F>, Array2<F>) {
    let mut g = rng(seed.wrapping_add(100));
    let x = Array2::from_shape_simple_fn((points, 1), || F::from_f64(g.random_range(-PI..=PI)));
    let y = x.mapv(|x| F::from_f64(x.as_f64().sin()));
    (x, y)
}

/// [`TEST_POINTS`] evenly spaced inputs over [-π, π], with their sines.
fn test_points<F: backprop::Float>() -> (Array2<F>, Array2<F>) {
    let x = Array2::from_shape_fn((TEST_POINTS, 1), |(i, _)| {
        F::from_f64(-PI + 2.0 * PI * i as f64 / (TEST_POINTS - 1) as f64)
    });
    let y = x.mapv(|x| F::from_f64(x.as_f64().sin()));
    (x, y)
}

/// One epoch of SGD steps on the squared error; its mean over the steps.
fn train_epoch<F: backprop::Float>(
    mlp: &mut Mlp<F>,
    opt: &mut backprop::Sgd<F>,
    (x, y): (&Array2<F>, &Array2<F>),
    batch: usize,
    shuffle: &mut rand::rngs::StdRng,
) -> f64 {
    let mut loss_sum = 0.0;
    let mut steps = 0;
    for idx in batches(x.nrows(), batch, shuffle) {
        let (out, trace) = mlp.forward_train(gather(x, &idx).view());
        let (loss, delta) = mse(out.view(), gather(y, &idx).view());
        let grads = mlp.backward(&trace, delta.view());
        opt.step(mlp, &grads);
        loss_sum += loss.as_f64();
        steps += 1;
    }
    loss_sum / steps as f64
}
