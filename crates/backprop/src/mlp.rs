//! The report's BP network: dense layers from a layer-size list, one
//! activation for every hidden layer, optional dropout after each hidden
//! activation, and a linear output layer (softmax + cross-entropy or MSE are
//! applied by the loss).
//!
//! Backward is the report's recursion. With `a_i` the input of dense layer
//! `i`, `z_i = W_i a_i + β_i` and `δ_i = ∂Loss/∂z_i`:
//!
//! * the output delta `δ_L` is the loss gradient (the loss owns softmax);
//! * `∂Loss/∂W_i = δ_i a_iᵀ`, `∂Loss/∂β_i = Σ_batch δ_i`;
//! * `δ_{i-1} = (W_iᵀ δ_i) ⊙ f'(z_{i-1})` (⊙ the dropout mask when dropout
//!   is on), with `f'` taken from the stored activation output.

use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMutD};

use crate::activation::Activation;
use crate::dense::{Dense, DenseGrads};
use crate::dropout::Dropout;
use crate::float::Float;
use crate::init::rng;
use crate::optim::Parameters;

/// How to build an [`Mlp`].
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Neurons per layer, input first, output last: `[784, 256, 12]`.
    pub layers: Vec<usize>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Dropout probability after each hidden activation (0 = off).
    pub dropout: f64,
    /// Seed for the weights (and, plus one, for dropout).
    pub seed: u64,
}

impl Default for MlpConfig {
    /// `[784, 256, 12]`, LeakyReLU, no dropout, seed 0.
    fn default() -> Self {
        MlpConfig {
            layers: vec![784, 256, 12],
            activation: Activation::LeakyRelu,
            dropout: 0.0,
            seed: 0,
        }
    }
}

/// A multi-layer perceptron with hand-written backward pass.
#[derive(Debug)]
pub struct Mlp<F> {
    /// Dense layers, input side first; the last one is the (linear) output.
    pub layers: Vec<Dense<F>>,
    /// Hidden activation.
    pub activation: Activation,
    dropout: Option<Dropout>,
}

/// What the training forward pass keeps for backward.
#[derive(Clone, Debug)]
pub struct MlpTrace<F> {
    /// Input of each dense layer (`a_0 = x`, then the dropped-out activations).
    inputs: Vec<Array2<F>>,
    /// Activation outputs `f(z_i)` of the hidden layers, before dropout.
    hidden: Vec<Array2<F>>,
    /// Dropout masks of the hidden layers (when dropout is on).
    masks: Vec<Option<Array2<F>>>,
}

/// Gradients of an [`Mlp`]: one [`DenseGrads`] per layer.
pub type MlpGrads<F> = Vec<DenseGrads<F>>;

impl<F: Float> Mlp<F> {
    /// Builds the network with seeded initial weights (He for the ReLU
    /// family, Xavier for sigmoid/tanh; the output layer uses Xavier).
    pub fn new(config: &MlpConfig) -> Self {
        assert!(
            config.layers.len() >= 2,
            "an MLP needs at least input and output sizes"
        );
        let mut g = rng(config.seed);
        let n = config.layers.len() - 1;
        let layers = config
            .layers
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let init = if i + 1 == n {
                    crate::init::Init::XavierUniform
                } else {
                    config.activation.default_init()
                };
                Dense::new(pair[0], pair[1], init, &mut g)
            })
            .collect();
        let dropout = (config.dropout > 0.0)
            .then(|| Dropout::new(config.dropout, config.seed.wrapping_add(1)));
        Mlp {
            layers,
            activation: config.activation,
            dropout,
        }
    }

    /// A network from given layers (no dropout).
    pub fn from_layers(layers: Vec<Dense<F>>, activation: Activation) -> Self {
        assert!(!layers.is_empty(), "an MLP needs at least one layer");
        for pair in layers.windows(2) {
            assert_eq!(
                pair[0].outputs(),
                pair[1].inputs(),
                "layer sizes do not chain"
            );
        }
        Mlp {
            layers,
            activation,
            dropout: None,
        }
    }

    /// The layer-size list.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.layers[0].inputs()];
        sizes.extend(self.layers.iter().map(Dense::outputs));
        sizes
    }

    /// Evaluation forward pass (no dropout): the output layer's `z`.
    pub fn forward(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        let last = self.layers.len() - 1;
        let mut a = self.layers[0].forward(x);
        if last > 0 {
            a = self.activation.forward(&a);
        }
        for (i, layer) in self.layers.iter().enumerate().skip(1) {
            a = layer.forward(a.view());
            if i < last {
                a = self.activation.forward(&a);
            }
        }
        a
    }

    /// Training forward pass: the output and the trace for
    /// [`backward`](Self::backward); draws fresh dropout masks.
    pub fn forward_train(&mut self, x: ArrayView2<'_, F>) -> (Array2<F>, MlpTrace<F>) {
        let last = self.layers.len() - 1;
        let mut trace = MlpTrace {
            inputs: Vec::with_capacity(last + 1),
            hidden: Vec::with_capacity(last),
            masks: Vec::with_capacity(last),
        };
        let mut a = x.to_owned();
        for i in 0..last {
            let h = self.activation.forward(&self.layers[i].forward(a.view()));
            trace.inputs.push(a);
            let (next, mask) = match &mut self.dropout {
                Some(d) => {
                    let (y, m) = d.forward(&h);
                    (y, Some(m))
                }
                None => (h.clone(), None),
            };
            trace.hidden.push(h);
            trace.masks.push(mask);
            a = next;
        }
        let out = self.layers[last].forward(a.view());
        trace.inputs.push(a);
        (out, trace)
    }

    /// All layer gradients from `∂Loss/∂output`, by the report's recursion.
    pub fn backward(&self, trace: &MlpTrace<F>, output_grad: ArrayView2<'_, F>) -> MlpGrads<F> {
        let n = self.layers.len();
        let mut grads: Vec<Option<DenseGrads<F>>> = vec![None; n];
        let mut delta = output_grad.to_owned();
        for i in (0..n).rev() {
            let (g, down) = self.layers[i].backward(trace.inputs[i].view(), delta.view(), i > 0);
            grads[i] = Some(g);
            if let Some(mut down) = down {
                if let Some(mask) = &trace.masks[i - 1] {
                    down *= mask;
                }
                self.activation
                    .backward_in_place(&trace.hidden[i - 1], &mut down);
                delta = down;
            }
        }
        grads
            .into_iter()
            .map(|g| g.expect("every layer visited"))
            .collect()
    }
}

impl<F: Float> Parameters<F> for Mlp<F> {
    fn tensors(&self) -> Vec<ArrayViewD<'_, F>> {
        self.layers.tensors()
    }
    fn tensors_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        self.layers.tensors_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_gradients};
    use crate::init::uniform;
    use crate::loss::{mse, softmax_cross_entropy};

    fn check(activation: Activation, classification: bool) {
        let config = MlpConfig {
            layers: vec![4, 5, 3, 3],
            activation,
            dropout: 0.0,
            seed: 21,
        };
        let mut mlp = Mlp::<f64>::new(&config);
        let mut g = rng(22);
        let x: Array2<f64> = uniform((6, 4), 1.5, &mut g);
        let labels = [0, 2, 1, 1, 0, 2];
        let target: Array2<f64> = uniform((6, 3), 1.0, &mut g);
        let loss = |m: &Mlp<f64>| {
            let out = m.forward(x.view());
            if classification {
                softmax_cross_entropy(out.view(), &labels).0
            } else {
                mse(out.view(), target.view()).0
            }
        };
        let (out, trace) = mlp.forward_train(x.view());
        assert_eq!(out, mlp.forward(x.view()));
        let delta = if classification {
            softmax_cross_entropy(out.view(), &labels).1
        } else {
            mse(out.view(), target.view()).1
        };
        let grads = mlp.backward(&trace, delta.view());
        let numeric = numeric_gradients(&mut mlp, loss);
        for (i, (a, n)) in grads.tensors().iter().zip(&numeric).enumerate() {
            assert_close(&format!("mlp {activation} tensor {i}"), a, &n.view(), 1e-4);
        }
    }

    #[test]
    fn gradients_match_finite_differences_for_every_activation() {
        for act in Activation::ALL {
            check(act, true);
            check(act, false);
        }
    }

    /// With dropout the check freezes the masks the training pass drew.
    #[test]
    fn gradients_with_dropout() {
        let config = MlpConfig {
            layers: vec![3, 6, 2],
            activation: Activation::Tanh,
            dropout: 0.5,
            seed: 4,
        };
        let mut mlp = Mlp::<f64>::new(&config);
        let x: Array2<f64> = uniform((5, 3), 1.0, &mut rng(5));
        let labels = [0, 1, 1, 0, 1];
        let (out, trace) = mlp.forward_train(x.view());
        let mask = trace.masks[0].clone().unwrap();
        assert!(mask.iter().any(|&m| m == 0.0) && mask.iter().any(|&m| m == 2.0));
        let (_, delta) = softmax_cross_entropy(out.view(), &labels);
        let grads = mlp.backward(&trace, delta.view());
        let loss = |m: &Mlp<f64>| {
            let h = m.activation.forward(&m.layers[0].forward(x.view())) * &mask;
            softmax_cross_entropy(m.layers[1].forward(h.view()).view(), &labels).0
        };
        let numeric = numeric_gradients(&mut mlp, loss);
        for (i, (a, n)) in grads.tensors().iter().zip(&numeric).enumerate() {
            assert_close(&format!("mlp dropout tensor {i}"), a, &n.view(), 1e-4);
        }
    }

    #[test]
    fn sizes_and_seeding() {
        let a = Mlp::<f32>::new(&MlpConfig::default());
        assert_eq!(a.sizes(), vec![784, 256, 12]);
        assert_eq!(a.num_params(), 784 * 256 + 256 + 256 * 12 + 12);
        let b = Mlp::<f32>::new(&MlpConfig::default());
        assert_eq!(a.layers, b.layers);
    }
}
