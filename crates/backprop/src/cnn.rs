//! The small CNN: conv 1→8 3×3 stride 1 pad 1, ReLU, max-pool 2,
//! conv 8→16 3×3 stride 2 pad 1, ReLU, flatten, dense → 12.
//!
//! Backward chains the layers' hand-written backward passes in reverse:
//! dense (report recursion) → unflatten → ReLU' → conv2 (dilated gradient ⊛
//! rotated kernel) → max-pool record → ReLU' → conv1 (kernel gradient only).

use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use crate::activation::Activation;
use crate::conv::{Conv2d, Conv2dCache, Conv2dGrads};
use crate::dense::{Dense, DenseGrads};
use crate::flatten::{flatten, unflatten};
use crate::float::Float;
use crate::init::{Init, rng};
use crate::pool::{MaxPool2d, MaxPoolRecord};

/// Sizes of the CNN; the default is the Hanzi12 network.
#[derive(Clone, Debug, PartialEq)]
pub struct CnnConfig {
    /// Input images are `side × side`, one channel.
    pub side: usize,
    /// Output channels of the first convolution.
    pub channels1: usize,
    /// Output channels of the second convolution.
    pub channels2: usize,
    /// Number of classes.
    pub classes: usize,
    /// Activation after each convolution.
    pub activation: Activation,
    /// Weight seed.
    pub seed: u64,
}

impl Default for CnnConfig {
    /// 28×28 input, 8 and 16 channels, 12 classes, ReLU, seed 0.
    fn default() -> Self {
        CnnConfig {
            side: 28,
            channels1: 8,
            channels2: 16,
            classes: 12,
            activation: Activation::Relu,
            seed: 0,
        }
    }
}

/// The CNN's layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Cnn<F> {
    /// 3×3, stride 1, padding 1.
    pub conv1: Conv2d<F>,
    /// 2×2, stride 2.
    pub pool: MaxPool2d,
    /// 3×3, stride 2, padding 1.
    pub conv2: Conv2d<F>,
    /// Flattened features → classes.
    pub fc: Dense<F>,
    /// After each convolution.
    pub activation: Activation,
}

/// What the training forward pass keeps for backward.
#[derive(Clone, Debug)]
pub struct CnnTrace<F> {
    conv1: Conv2dCache<F>,
    act1: Array4<F>,
    pool: MaxPoolRecord,
    conv2: Conv2dCache<F>,
    act2: Array4<F>,
    flat: Array2<F>,
}

/// Gradients of a [`Cnn`], in its parameter order.
#[derive(Clone, Debug, PartialEq)]
pub struct CnnGrads<F> {
    /// First convolution.
    pub conv1: Conv2dGrads<F>,
    /// Second convolution.
    pub conv2: Conv2dGrads<F>,
    /// Output layer.
    pub fc: DenseGrads<F>,
}

impl<F: Float> Cnn<F> {
    /// Builds the network with seeded He-initialised convolutions and a
    /// Xavier-initialised output layer.
    pub fn new(config: &CnnConfig) -> Self {
        let mut g = rng(config.seed);
        let init = config.activation.default_init();
        let conv1 = Conv2d::new(1, config.channels1, 3, 1, 1, init, &mut g);
        let pool = MaxPool2d::new(2);
        let conv2 = Conv2d::new(config.channels1, config.channels2, 3, 2, 1, init, &mut g);
        let (h1, w1) = conv1.output_size(config.side, config.side);
        let (h2, w2) = pool.output_size(h1, w1);
        let (h3, w3) = conv2.output_size(h2, w2);
        let features = config.channels2 * h3 * w3;
        let fc = Dense::new(features, config.classes, Init::XavierUniform, &mut g);
        Cnn {
            conv1,
            pool,
            conv2,
            fc,
            activation: config.activation,
        }
    }

    /// Evaluation forward pass: logits `(N, classes)` for `(N, 1, side, side)` images.
    pub fn forward(&self, x: ArrayView4<'_, F>) -> Array2<F> {
        let a1 = self.activation.forward(&self.conv1.forward(x).0);
        let p = self.pool.forward(a1.view()).0;
        let a2 = self.activation.forward(&self.conv2.forward(p.view()).0);
        self.fc.forward(flatten(a2.view()).view())
    }

    /// Training forward pass: logits and the trace for [`backward`](Self::backward).
    pub fn forward_train(&self, x: ArrayView4<'_, F>) -> (Array2<F>, CnnTrace<F>) {
        let (z1, conv1) = self.conv1.forward(x);
        let act1 = self.activation.forward(&z1);
        let (p, pool) = self.pool.forward(act1.view());
        let (z2, conv2) = self.conv2.forward(p.view());
        let act2 = self.activation.forward(&z2);
        let flat = flatten(act2.view());
        let logits = self.fc.forward(flat.view());
        let trace = CnnTrace {
            conv1,
            act1,
            pool,
            conv2,
            act2,
            flat,
        };
        (logits, trace)
    }

    /// All gradients from `∂Loss/∂logits`.
    pub fn backward(&self, trace: &CnnTrace<F>, logits_grad: ArrayView2<'_, F>) -> CnnGrads<F> {
        let (fc, d_flat) = self.fc.backward(trace.flat.view(), logits_grad, true);
        let mut d2 = unflatten(d_flat.expect("asked for").view(), trace.act2.dim());
        self.activation.backward_in_place(&trace.act2, &mut d2);
        let (conv2, d_pool) = self.conv2.backward(&trace.conv2, d2.view(), true);
        let mut d1 = self
            .pool
            .backward(&trace.pool, d_pool.expect("asked for").view());
        self.activation.backward_in_place(&trace.act1, &mut d1);
        let (conv1, _) = self.conv1.backward(&trace.conv1, d1.view(), false);
        CnnGrads { conv1, conv2, fc }
    }
}

crate::optim::parameters!(Cnn: layers conv1, conv2, fc);
crate::optim::parameters!(CnnGrads: layers conv1, conv2, fc);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_gradients};
    use crate::init::uniform;
    use crate::loss::softmax_cross_entropy;
    use crate::optim::Parameters;

    /// Every parameter of a small (10×10 input) CNN, for every activation.
    #[test]
    fn gradients_match_finite_differences() {
        for activation in Activation::ALL {
            let config = CnnConfig {
                side: 10,
                channels1: 2,
                channels2: 3,
                classes: 4,
                activation,
                seed: 31,
            };
            let mut cnn = Cnn::<f64>::new(&config);
            let x: Array4<f64> = uniform((3, 1, 10, 10), 1.0, &mut rng(32));
            let labels = [1, 3, 0];
            let (logits, trace) = cnn.forward_train(x.view());
            assert_eq!(logits, cnn.forward(x.view()));
            let (_, delta) = softmax_cross_entropy(logits.view(), &labels);
            let grads = cnn.backward(&trace, delta.view());
            let numeric = numeric_gradients(&mut cnn, |m| {
                softmax_cross_entropy(m.forward(x.view()).view(), &labels).0
            });
            for (i, (a, n)) in grads.tensors().iter().zip(&numeric).enumerate() {
                assert_close(&format!("cnn {activation} tensor {i}"), a, &n.view(), 1e-4);
            }
        }
    }

    #[test]
    fn default_shapes() {
        let cnn = Cnn::<f32>::new(&CnnConfig::default());
        assert_eq!(cnn.fc.inputs(), 16 * 7 * 7);
        assert_eq!(
            cnn.num_params(),
            8 * 9 + 8 + 16 * 8 * 9 + 16 + 784 * 12 + 12
        );
        let x = Array4::<f32>::zeros((2, 1, 28, 28));
        assert_eq!(cnn.forward(x.view()).dim(), (2, 12));
    }
}
