//! The BP network (MLP) and the small CNN on Hanzi12, trained with
//! plain mini-batch SGD on the report's shifted images.

use anyhow::{Context, Result, ensure};
use backprop::init::rng;
use backprop::loss::{correct, softmax_cross_entropy};
use backprop::ndarray::{self, Array2, ArrayView2};
use backprop::{Activation, Cnn, CnnConfig, Mlp, MlpConfig, Parameters};
use burn::data::dataset::Dataset;
use dataset::{DEFAULT_VALID_RATIO, Hanzi12, NUM_CLASSES, PIXELS, SIDE, translate};
use rand::RngExt;
use std::f64::consts::PI;
use std::time::Instant;

use super::{Training, batches, check_dropout, gather};
use hanzi12::data::{DataSource, SYNTH_PER_CLASS};

/// Rows per evaluation forward pass.
const EVAL_CHUNK: usize = 512;

/// Which hand-written classifier, with its own settings.
#[derive(Clone, Debug, PartialEq)]
pub enum HanziNet {
    /// Layer sizes, input first (784 in, 12 out), and the dropout
    /// probability after each hidden layer.
    Mlp { layers: Vec<usize>, dropout: f64 },
    /// Conv 1→8 3x3, max-pool 2, conv 8→16 3x3 stride 2, dense 784→12.
    Cnn,
}

/// The settings of the MLP and CNN tasks; [`HanziConfig::mlp`] and
/// [`HanziConfig::cnn`] are the report's.
#[derive(Clone, Debug, PartialEq)]
pub struct HanziConfig {
    pub net: HanziNet,
    pub training: Training,
    pub data: DataSource,
    /// Fraction of each class held out for validation (the last files).
    pub valid_ratio: f64,
    /// Shift each training image by a random whole number of pixels in
    /// [-shift, shift] along each axis, fresh every epoch (0 = off).
    pub shift: usize,
    /// Decay the learning rate along a half cosine to 0 over the epochs.
    pub cosine: bool,
}

impl HanziConfig {
    /// The BP network [784, 256, 12] with LeakyReLU.
    pub fn mlp() -> Self {
        let net = HanziNet::Mlp {
            layers: vec![PIXELS, 256, NUM_CLASSES],
            dropout: 0.0,
        };
        Self::with(net, 30, Activation::LeakyRelu)
    }

    /// The small CNN with ReLU.
    pub fn cnn() -> Self {
        Self::with(HanziNet::Cnn, 20, Activation::Relu)
    }

    fn with(net: HanziNet, epochs: usize, activation: Activation) -> Self {
        HanziConfig {
            net,
            training: Training {
                epochs,
                lr: 0.02,
                momentum: 0.9,
                batch_size: 32,
                activation,
                seed: 0,
            },
            data: DataSource::Synthetic {
                per_class: SYNTH_PER_CLASS,
                seed: 0,
            },
            valid_ratio: DEFAULT_VALID_RATIO,
            shift: 2,
            cosine: true,
        }
    }

    fn name(&self) -> &'static str {
        match self.net {
            HanziNet::Mlp { .. } => "mlp",
            HanziNet::Cnn => "cnn",
        }
    }

    /// Validation accuracy the report reached with this network.
    fn target(&self) -> f64 {
        match self.net {
            HanziNet::Mlp { .. } => 0.95,
            HanziNet::Cnn => 0.97,
        }
    }

    /// The network, and a line that describes it.
    fn build<F: backprop::Float>(&self) -> Result<(Net<F>, String)> {
        let activation = self.training.activation;
        let seed = self.training.seed;
        Ok(match &self.net {
            HanziNet::Cnn => {
                let config = CnnConfig {
                    activation,
                    seed,
                    ..CnnConfig::default()
                };
                let text = format!(
                    "CNN conv 1→8 3x3 s1 p1, {activation}, max-pool 2, conv 8→16 3x3 s2 p1, {activation}, dense 784→{NUM_CLASSES}"
                );
                (Net::Cnn(Cnn::<F>::new(&config)), text)
            }
            HanziNet::Mlp { layers, dropout } => {
                check_dropout(*dropout)?;
                ensure!(
                    layers.len() >= 2
                        && layers[0] == PIXELS
                        && layers[layers.len() - 1] == NUM_CLASSES,
                    "--layers must start with {PIXELS} and end with {NUM_CLASSES}, got {layers:?}"
                );
                let config = MlpConfig {
                    layers: layers.clone(),
                    activation,
                    dropout: *dropout,
                    seed,
                };
                let text = format!(
                    "MLP {layers:?}, {activation}{}",
                    if *dropout > 0.0 {
                        format!(", dropout {dropout}")
                    } else {
                        String::new()
                    }
                );
                (Net::Mlp(Mlp::<F>::new(&config)), text)
            }
        })
    }
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
        // Pixels are 0 or 1 (or grey levels of a byte): exact in f32.
        let image: Vec<f32> = src.iter().map(|v| v.as_f64() as f32).collect();
        for (d, v) in dst.iter_mut().zip(translate(&image, dx, dy)) {
            *d = F::from_f64(f64::from(v));
        }
    }
    out
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
        opt: &mut backprop::Sgd<F>,
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

/// `trainer scratch --task mlp|cnn`: trains, printing a line per epoch
/// and a final line against the report's target.
pub(super) fn run<F: backprop::Float>(config: &HanziConfig, precision: &str) -> Result<()> {
    config.training.check()?;
    let source = &config.data;
    let all = source.load()?;
    let (train, valid) = all.split(config.valid_ratio);
    ensure!(!train.is_empty(), "no training images in the data");
    let train = to_arrays::<F>(&train)?;
    let (x_valid, y_valid) = to_arrays::<F>(&valid)?;

    let Training {
        epochs,
        lr,
        momentum,
        batch_size: batch,
        seed,
        ..
    } = config.training;
    let (mut net, description) = config.build::<F>()?;
    println!(
        "scratch {}: {description} ({} parameters, {}); {} train / {} valid images from {}; \
         batch {batch}, lr {lr}, momentum {momentum}, {epochs} epochs",
        config.name(),
        net.num_params(),
        precision,
        train.0.nrows(),
        x_valid.nrows(),
        source.describe()
    );

    let mut opt = backprop::Sgd::new(F::from_f64(lr), F::from_f64(momentum));
    let mut shuffle = rng(seed.wrapping_add(300));
    let mut train_seconds = 0.0;
    let mut images = 0usize;
    let mut best = (0.0, 0);
    let mut last_valid = 0.0;
    for epoch in 1..=epochs {
        let started = Instant::now();
        if config.cosine {
            let progress = (epoch - 1) as f64 / epochs as f64;
            opt.learning_rate = F::from_f64(lr * 0.5 * (1.0 + (PI * progress).cos()));
        }
        let pass = train_epoch(&mut net, &mut opt, &train, config, &mut shuffle);
        let seconds = started.elapsed().as_secs_f64();
        train_seconds += seconds;
        images += pass.seen;
        let (valid_acc, valid_loss) = net.evaluate(&x_valid, &y_valid);
        if valid_acc > best.0 {
            best = (valid_acc, epoch);
        }
        last_valid = valid_acc;
        println!(
            "epoch {epoch:>3}/{epochs}  train loss {:.4}  train acc {:5.2}%  valid loss {valid_loss:.4}  valid acc {:5.2}%  \
             {:.0} img/s",
            pass.loss_sum / pass.seen as f64,
            100.0 * pass.right as f64 / pass.seen as f64,
            100.0 * valid_acc,
            pass.seen as f64 / seconds
        );
    }
    let throughput = images as f64 / train_seconds.max(1e-9);
    report_final(
        config,
        (last_valid, best),
        x_valid.nrows(),
        throughput,
        train_seconds,
    );
    Ok(())
}

/// The run's last line: final and best validation accuracy, throughput, and
/// whether the course's target was reached.
fn report_final(
    config: &HanziConfig,
    (last_valid, best): (f64, (f64, usize)),
    valid_images: usize,
    throughput: f64,
    train_seconds: f64,
) {
    println!(
        "final: scratch {} validation accuracy {:.2}% ({} of {}), best {:.2}% at epoch {}; \
         training throughput {throughput:.0} images/s ({train_seconds:.1} s training); target ≥ {:.0}%: {}",
        config.name(),
        100.0 * last_valid,
        (last_valid * valid_images as f64).round() as usize,
        valid_images,
        100.0 * best.0,
        best.1,
        100.0 * config.target(),
        if last_valid >= config.target() {
            "reached"
        } else {
            "NOT reached"
        }
    );
}

/// What one pass over the training images summed.
struct Pass {
    loss_sum: f64,
    right: usize,
    seen: usize,
}

/// One epoch of SGD steps over `(images, labels)` in a shuffled order.
fn train_epoch<F: backprop::Float>(
    net: &mut Net<F>,
    opt: &mut backprop::Sgd<F>,
    (images, labels): &(Array2<F>, Vec<usize>),
    config: &HanziConfig,
    shuffle: &mut rand::rngs::StdRng,
) -> Pass {
    let mut pass = Pass {
        loss_sum: 0.0,
        right: 0,
        seen: 0,
    };
    for idx in batches(images.nrows(), config.training.batch_size, shuffle) {
        let xb = shifted(&gather(images, &idx), config.shift, shuffle);
        let yb: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
        let (loss, ok) = net.train_step(opt, xb.view(), &yb);
        pass.loss_sum += loss * idx.len() as f64;
        pass.right += ok;
        pass.seen += idx.len();
    }
    pass
}

#[cfg(test)]
mod tests {
    use super::*;

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
