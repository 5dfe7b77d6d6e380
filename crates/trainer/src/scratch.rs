//! `trainer scratch`: train with the hand-written backpropagation of the
//! `backprop` crate (no Burn autodiff): the report's sine fit, the BP network
//! (MLP) and the small CNN on Hanzi12.

use std::f64::consts::PI;
use std::path::PathBuf;
use std::time::Instant;

use crate::data::DataSource;
use anyhow::{Context, Result, ensure};
use backprop::init::rng;
use backprop::loss::{correct, mean_absolute_error, mse, softmax_cross_entropy};
use backprop::ndarray::{self, Array2, ArrayView2, Axis};
use backprop::{Activation, Cnn, CnnConfig, Mlp, MlpConfig, Parameters, Sgd};
use burn::data::dataset::Dataset;
use dataset::{DEFAULT_VALID_RATIO, Hanzi12, NUM_CLASSES, PIXELS, SIDE};
use rand::RngExt;
use rand::seq::SliceRandom;

/// Rows per evaluation forward pass.
const EVAL_CHUNK: usize = 512;

/// What `trainer scratch` trains.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScratchTask {
    /// MLP [1, 16, 32, 1] fitting sin x on [-π, π] with MSE (the report's check).
    Sine,
    /// The BP network on Hanzi12: [784, 256, 12], LeakyReLU, softmax + cross-entropy.
    Mlp,
    /// The small CNN on Hanzi12: conv 8 → max-pool → conv 16 (stride 2) → dense 12.
    Cnn,
}

/// Train with hand-written backpropagation (no autodiff).
#[derive(clap::Args, Debug, Clone)]
pub struct ScratchArgs {
    /// sine, mlp or cnn.
    #[arg(long, value_enum, default_value_t = ScratchTask::Cnn)]
    pub task: ScratchTask,
    /// Class-folder root <DIR>/<k>/<n>.bmp for mlp and cnn [default: data/train if present, else built-in synthetic data].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Epochs [default: sine 800, mlp 30, cnn 20].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Learning rate [default: sine 0.01, mlp 0.02, cnn 0.02].
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD momentum [default: sine 0, mlp 0.9, cnn 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Mini-batch size [default: sine 16, mlp 32, cnn 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Hidden activation: leaky-relu, relu, sigmoid, tanh [default: leaky-relu; cnn relu].
    #[arg(long)]
    pub activation: Option<Activation>,
    /// MLP layer sizes, input first, e.g. 784,256,12 [default: sine 1,16,32,1; mlp 784,256,12].
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub layers: Option<Vec<usize>>,
    /// Dropout probability after each hidden MLP layer.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Fraction of each class held out for validation (the last files).
    #[arg(long, default_value_t = DEFAULT_VALID_RATIO)]
    pub valid_ratio: f64,
    /// Sine task: number of random training points (test: 1000 evenly spaced).
    #[arg(long, default_value_t = 4000)]
    pub sine_points: usize,
    /// Hanzi tasks: shift each training image by a random whole number of
    /// pixels in [-N, N] along each axis, fresh every epoch (0 = off).
    #[arg(long, default_value_t = 2)]
    pub shift: usize,
    /// Decay the learning rate along a half cosine to 0 over the epochs.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub cosine: bool,
    /// Seed for weights, shuffling, dropout and the sine samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train in f64 instead of f32 (slower; for comparison).
    #[arg(long)]
    pub f64: bool,
}

/// Runs the task and prints per-epoch progress and a final line.
pub fn run(args: &ScratchArgs) -> Result<()> {
    if let Some(b) = args.batch_size {
        ensure!(b > 0, "--batch-size must be positive");
    }
    ensure!(
        (0.0..1.0).contains(&args.dropout),
        "--dropout must be in [0, 1), got {}",
        args.dropout
    );
    match (args.task, args.f64) {
        (ScratchTask::Sine, false) => sine::<f32>(args),
        (ScratchTask::Sine, true) => sine::<f64>(args),
        (_, false) => hanzi::<f32>(args),
        (_, true) => hanzi::<f64>(args),
    }
}

/// A shuffled order of `0..n` per epoch, cut into mini-batches. Like the
/// report, the last batch is filled up from the end of the order instead of
/// being short.
fn batches(n: usize, batch: usize, rng: &mut rand::rngs::StdRng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let batch = batch.min(n);
    (0..n)
        .step_by(batch)
        .map(|start| {
            if start + batch > n {
                order[n - batch..].to_vec()
            } else {
                order[start..start + batch].to_vec()
            }
        })
        .collect()
}

/// Each row of `x` (a `SIDE × SIDE` image) shifted by a random offset in
/// `[-max, max]²`, zero filled: the report's translation augmentation.
fn shifted<F: backprop::Float>(
    x: &Array2<F>,
    max: usize,
    rng: &mut rand::rngs::StdRng,
) -> Array2<F> {
    if max == 0 {
        return x.clone();
    }
    let m = max as i64;
    let mut out = Array2::zeros(x.raw_dim());
    for (src, mut dst) in x.rows().into_iter().zip(out.rows_mut()) {
        let dy = rng.random_range(-m..=m) as isize;
        let dx = rng.random_range(-m..=m) as isize;
        for r in 0..SIDE as isize {
            let sr = r - dy;
            if !(0..SIDE as isize).contains(&sr) {
                continue;
            }
            for c in 0..SIDE as isize {
                let sc = c - dx;
                if (0..SIDE as isize).contains(&sc) {
                    dst[(r * SIDE as isize + c) as usize] = src[(sr * SIDE as isize + sc) as usize];
                }
            }
        }
    }
    out
}

/// Rows `indices` of `x`.
fn gather<F: backprop::Float>(x: &Array2<F>, indices: &[usize]) -> Array2<F> {
    x.select(Axis(0), indices)
}

/// What a sine fit learned and how well: the study's figures come from it.
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

impl ScratchArgs {
    /// The defaults of `trainer scratch --task TASK`, as the command line gives them.
    pub fn for_task(task: ScratchTask) -> ScratchArgs {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            args: ScratchArgs,
        }
        let mut args = <Defaults as clap::Parser>::parse_from(["scratch"]).args;
        args.task = task;
        args
    }
}

fn sine<F: backprop::Float>(args: &ScratchArgs) -> Result<()> {
    let fit = fit_sine::<F>(args, true)?;
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

/// The report's check of the BP network: an MLP fitting sin x on [-π, π]
/// with MSE and plain mini-batch SGD; `verbose` prints 20 progress lines.
pub fn fit_sine<F: backprop::Float>(args: &ScratchArgs, verbose: bool) -> Result<SineFit> {
    let layers = args.layers.clone().unwrap_or_else(|| vec![1, 16, 32, 1]);
    ensure!(
        layers.len() >= 2 && layers[0] == 1 && *layers.last().unwrap() == 1,
        "sine: --layers must start and end with 1, got {layers:?}"
    );
    let epochs = args.epochs.unwrap_or(800);
    let lr = args.lr.unwrap_or(0.01);
    let momentum = args.momentum.unwrap_or(0.0);
    let batch = args.batch_size.unwrap_or(16);
    let activation = args.activation.unwrap_or(Activation::LeakyRelu);
    ensure!(epochs > 0, "--epochs must be at least 1");
    ensure!(args.sine_points > 0, "--sine-points must be at least 1");

    let mut g = rng(args.seed.wrapping_add(100));
    let x_train = Array2::from_shape_simple_fn((args.sine_points, 1), || {
        F::from_f64(g.random_range(-PI..=PI))
    });
    let y_train = x_train.mapv(|x| F::from_f64(x.as_f64().sin()));
    let test_points = 1000;
    let x_test = Array2::from_shape_fn((test_points, 1), |(i, _)| {
        F::from_f64(-PI + 2.0 * PI * i as f64 / (test_points - 1) as f64)
    });
    let y_test = x_test.mapv(|x| F::from_f64(x.as_f64().sin()));

    let config = MlpConfig {
        layers: layers.clone(),
        activation,
        dropout: args.dropout,
        seed: args.seed,
    };
    let mut mlp = Mlp::<F>::new(&config);
    let mut opt = Sgd::new(F::from_f64(lr), F::from_f64(momentum));
    if verbose {
        println!(
            "scratch sine: MLP {layers:?} {activation}, {} training points on [-π, π], batch {batch}, lr {lr}, momentum {momentum}, {epochs} epochs",
            args.sine_points
        );
    }
    let mut shuffle = rng(args.seed.wrapping_add(200));
    let start = Instant::now();
    let report_every = (epochs / 20).max(1);
    let (mut train_mse, mut test_mae) = (Vec::new(), Vec::new());
    for epoch in 1..=epochs {
        let mut loss_sum = 0.0;
        let mut steps = 0;
        for idx in batches(x_train.nrows(), batch, &mut shuffle) {
            let xb = gather(&x_train, &idx);
            let yb = gather(&y_train, &idx);
            let (out, trace) = mlp.forward_train(xb.view());
            let (loss, delta) = mse(out.view(), yb.view());
            let grads = mlp.backward(&trace, delta.view());
            opt.step(&mut mlp, &grads);
            loss_sum += loss.as_f64();
            steps += 1;
        }
        let pred = mlp.forward(x_test.view());
        let mae = mean_absolute_error(pred.view(), y_test.view()).as_f64();
        train_mse.push(loss_sum / steps as f64);
        test_mae.push(mae);
        if verbose && (epoch % report_every == 0 || epoch == epochs) {
            println!(
                "epoch {epoch:>4}/{epochs}  train mse {:.6}  test mean |error| {mae:.5}",
                loss_sum / steps as f64
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

/// Images as `(N, 784)` rows and their labels.
fn to_arrays<F: backprop::Float>(data: &Hanzi12) -> Result<(Array2<F>, Vec<usize>)> {
    let n = data.len();
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let item = data.get(i).with_context(|| format!("reading item {i}"))?;
        ensure!(
            item.image.len() == PIXELS,
            "{}: {} pixels, expected {PIXELS}",
            item.source,
            item.image.len()
        );
        pixels.extend(item.image.iter().map(|&v| F::from_f64(f64::from(v))));
        labels.push(item.label);
    }
    Ok((Array2::from_shape_vec((n, PIXELS), pixels)?, labels))
}

/// The two hand-written classifiers behind one interface.
enum Net<F: backprop::Float> {
    Mlp(Mlp<F>),
    Cnn(Cnn<F>),
}

impl<F: backprop::Float> Net<F> {
    fn logits(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        match self {
            Net::Mlp(m) => m.forward(x),
            Net::Cnn(c) => c.forward(as_images(x).view()),
        }
    }

    /// One SGD step on a batch; returns the loss and the correct count.
    fn train_step(
        &mut self,
        opt: &mut Sgd<F>,
        x: ArrayView2<'_, F>,
        labels: &[usize],
    ) -> (f64, usize) {
        match self {
            Net::Mlp(m) => {
                let (out, trace) = m.forward_train(x);
                let (loss, delta) = softmax_cross_entropy(out.view(), labels);
                let grads = m.backward(&trace, delta.view());
                opt.step(m, &grads);
                (loss.as_f64(), correct(out.view(), labels))
            }
            Net::Cnn(c) => {
                let (out, trace) = c.forward_train(as_images(x).view());
                let (loss, delta) = softmax_cross_entropy(out.view(), labels);
                let grads = c.backward(&trace, delta.view());
                opt.step(c, &grads);
                (loss.as_f64(), correct(out.view(), labels))
            }
        }
    }

    fn num_params(&self) -> usize {
        match self {
            Net::Mlp(m) => m.num_params(),
            Net::Cnn(c) => c.num_params(),
        }
    }

    /// Accuracy and mean loss over `x`, in chunks.
    fn evaluate(&self, x: &Array2<F>, labels: &[usize]) -> (f64, f64) {
        let mut right = 0;
        let mut loss = 0.0;
        for start in (0..x.nrows()).step_by(EVAL_CHUNK) {
            let end = (start + EVAL_CHUNK).min(x.nrows());
            let logits = self.logits(x.slice(ndarray::s![start..end, ..]));
            right += correct(logits.view(), &labels[start..end]);
            loss += softmax_cross_entropy(logits.view(), &labels[start..end])
                .0
                .as_f64()
                * (end - start) as f64;
        }
        let n = x.nrows().max(1) as f64;
        (right as f64 / n, loss / n)
    }
}

/// `(N, 784)` rows as `(N, 1, 28, 28)` images.
fn as_images<F: backprop::Float>(x: ArrayView2<'_, F>) -> ndarray::Array4<F> {
    let n = x.nrows();
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, 1, SIDE, SIDE))
        .expect("784 pixels per row")
}

fn hanzi<F: backprop::Float>(args: &ScratchArgs) -> Result<()> {
    let source = DataSource::resolve(args.data.as_deref(), args.seed);
    let all = source.load()?;
    let (train, valid) = all.split(args.valid_ratio);
    ensure!(!train.is_empty(), "no training images in the data");
    let (x_train, y_train) = to_arrays::<F>(&train)?;
    let (x_valid, y_valid) = to_arrays::<F>(&valid)?;

    let is_cnn = args.task == ScratchTask::Cnn;
    let epochs = args.epochs.unwrap_or(if is_cnn { 20 } else { 30 });
    let lr = args.lr.unwrap_or(0.02);
    let momentum = args.momentum.unwrap_or(0.9);
    let batch = args.batch_size.unwrap_or(32);
    let (mut net, description) = if is_cnn {
        ensure!(args.layers.is_none(), "--layers is for the MLP tasks");
        ensure!(args.dropout == 0.0, "--dropout is for the MLP tasks");
        let config = CnnConfig {
            activation: args.activation.unwrap_or(Activation::Relu),
            seed: args.seed,
            ..CnnConfig::default()
        };
        let text = format!(
            "CNN conv 1→8 3x3 s1 p1, {act}, max-pool 2, conv 8→16 3x3 s2 p1, {act}, dense 784→{NUM_CLASSES}",
            act = config.activation
        );
        (Net::Cnn(Cnn::<F>::new(&config)), text)
    } else {
        let layers = args
            .layers
            .clone()
            .unwrap_or_else(|| vec![PIXELS, 256, NUM_CLASSES]);
        ensure!(
            layers.len() >= 2 && layers[0] == PIXELS && *layers.last().unwrap() == NUM_CLASSES,
            "--layers must start with {PIXELS} and end with {NUM_CLASSES}, got {layers:?}"
        );
        let config = MlpConfig {
            layers,
            activation: args.activation.unwrap_or(Activation::LeakyRelu),
            dropout: args.dropout,
            seed: args.seed,
        };
        let text = format!(
            "MLP {:?}, {}{}",
            config.layers,
            config.activation,
            if config.dropout > 0.0 {
                format!(", dropout {}", config.dropout)
            } else {
                String::new()
            }
        );
        (Net::Mlp(Mlp::<F>::new(&config)), text)
    };
    let target = if is_cnn { 0.97 } else { 0.95 };
    println!(
        "scratch {}: {description} ({} parameters, {}); {} train / {} valid images from {}; \
         batch {batch}, lr {lr}, momentum {momentum}, {epochs} epochs",
        if is_cnn { "cnn" } else { "mlp" },
        net.num_params(),
        if args.f64 { "f64" } else { "f32" },
        x_train.nrows(),
        x_valid.nrows(),
        source.describe()
    );

    let mut opt = Sgd::new(F::from_f64(lr), F::from_f64(momentum));
    let mut shuffle = rng(args.seed.wrapping_add(300));
    let mut train_seconds = 0.0;
    let mut images = 0usize;
    let mut best = (0.0, 0);
    let mut last_valid = 0.0;
    for epoch in 1..=epochs {
        let started = Instant::now();
        let (mut loss_sum, mut right, mut seen) = (0.0, 0usize, 0usize);
        if args.cosine {
            let progress = (epoch - 1) as f64 / epochs as f64;
            opt.learning_rate = F::from_f64(lr * 0.5 * (1.0 + (PI * progress).cos()));
        }
        for idx in batches(x_train.nrows(), batch, &mut shuffle) {
            let xb = shifted(&gather(&x_train, &idx), args.shift, &mut shuffle);
            let yb: Vec<usize> = idx.iter().map(|&i| y_train[i]).collect();
            let (loss, ok) = net.train_step(&mut opt, xb.view(), &yb);
            loss_sum += loss * idx.len() as f64;
            right += ok;
            seen += idx.len();
        }
        let seconds = started.elapsed().as_secs_f64();
        train_seconds += seconds;
        images += seen;
        let (valid_acc, valid_loss) = net.evaluate(&x_valid, &y_valid);
        if valid_acc > best.0 {
            best = (valid_acc, epoch);
        }
        last_valid = valid_acc;
        println!(
            "epoch {epoch:>3}/{epochs}  train loss {:.4}  train acc {:5.2}%  valid loss {valid_loss:.4}  valid acc {:5.2}%  \
             {:.0} img/s",
            loss_sum / seen as f64,
            100.0 * right as f64 / seen as f64,
            100.0 * valid_acc,
            seen as f64 / seconds
        );
    }
    let throughput = images as f64 / train_seconds.max(1e-9);
    println!(
        "final: scratch {} validation accuracy {:.2}% ({} of {}), best {:.2}% at epoch {}; \
         training throughput {throughput:.0} images/s ({train_seconds:.1} s training); target ≥ {:.0}%: {}",
        if is_cnn { "cnn" } else { "mlp" },
        100.0 * last_valid,
        (last_valid * x_valid.nrows() as f64).round() as usize,
        x_valid.nrows(),
        100.0 * best.0,
        best.1,
        100.0 * target,
        if last_valid >= target {
            "reached"
        } else {
            "NOT reached"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_everything_with_full_batches() {
        let b = batches(10, 4, &mut rng(1));
        assert_eq!(b.len(), 3);
        assert!(b.iter().all(|b| b.len() == 4));
        let mut seen: Vec<usize> = b.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(batches(3, 8, &mut rng(1)).concat().len(), 3);
    }

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: ScratchArgs,
    }

    fn parse(argv: &[&str]) -> ScratchArgs {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("scratch").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn parses_defaults_and_options() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let args = parse(&[]);
        assert_eq!(args.task, ScratchTask::Cnn);
        assert_eq!((args.shift, args.cosine, args.seed), (2, true, 0));
        let args = parse(&[
            "--task",
            "mlp",
            "--layers",
            "784,128,12",
            "--activation",
            "sigmoid",
            "--lr",
            "0.1",
            "--cosine",
            "false",
            "--shift",
            "0",
        ]);
        assert_eq!(args.task, ScratchTask::Mlp);
        assert_eq!(args.layers, Some(vec![784, 128, 12]));
        assert_eq!(args.activation, Some(Activation::Sigmoid));
        assert_eq!((args.lr, args.cosine, args.shift), (Some(0.1), false, 0));
    }

    #[test]
    fn short_sine_run() {
        // A smoke run; the full 800 epochs is `trainer scratch --task sine`.
        run(&parse(&[
            "--task",
            "sine",
            "--epochs",
            "5",
            "--sine-points",
            "200",
        ]))
        .unwrap();
    }

    #[test]
    fn shifted_images_move_ink() {
        let mut x = Array2::<f32>::zeros((1, PIXELS));
        x[[0, 14 * SIDE + 14]] = 1.0;
        let mut g = rng(3);
        for _ in 0..20 {
            let y = shifted(&x, 2, &mut g);
            assert_eq!(y.sum(), 1.0);
            let at = y.iter().position(|&v| v == 1.0).unwrap();
            let (r, c) = (at / SIDE, at % SIDE);
            assert!(r.abs_diff(14) <= 2 && c.abs_diff(14) <= 2);
        }
        assert_eq!(shifted(&x, 0, &mut g), x);
    }
}
