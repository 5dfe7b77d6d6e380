//! Fully connected layer `z = W a + β`, batched as rows.
//!
//! A batch is an `(N, inputs)` matrix whose rows are samples, so the forward
//! pass is `Z = A Wᵀ + 1 βᵀ`. With the layer's delta `δ = ∂Loss/∂Z` (one row
//! per sample) the report's formulas become
//!
//! * weight gradient `∂Loss/∂W = δᵀ A` — "delta times the layer input
//!   transposed", summed over the batch by the matrix product;
//! * bias gradient `∂Loss/∂β = Σ_n δ_n` — delta summed over the batch;
//! * the gradient passed down, `∂Loss/∂A = δ W` — "Wᵀ times delta" per sample.
//!   The previous layer multiplies it by its activation derivative to get its
//!   own delta, which is the report's recursion.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::rngs::StdRng;

use crate::float::Float;
use crate::init::{self, Init};

/// Weights `(outputs, inputs)` and biases `(outputs)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<F> {
    /// `W`, shape `(outputs, inputs)`, as in the report and in PyTorch.
    pub weight: Array2<F>,
    /// `β`, shape `(outputs)`.
    pub bias: Array1<F>,
}

/// Gradients of a [`Dense`] layer (same shapes as its parameters).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseGrads<F> {
    /// `∂Loss/∂W`.
    pub weight: Array2<F>,
    /// `∂Loss/∂β`.
    pub bias: Array1<F>,
}

impl<F: Float> Dense<F> {
    /// A layer with weights drawn by `init` and small uniform biases.
    pub fn new(inputs: usize, outputs: usize, init: Init, rng: &mut StdRng) -> Self {
        Dense {
            weight: init.weights((outputs, inputs), inputs, outputs, rng),
            bias: init::bias(outputs, inputs, rng),
        }
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.weight.ncols()
    }

    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.weight.nrows()
    }

    /// `Z = A Wᵀ + β` for a batch `A` of shape `(N, inputs)`.
    pub fn forward(&self, input: ArrayView2<'_, F>) -> Array2<F> {
        let mut z = input.dot(&self.weight.t());
        z += &self.bias;
        z
    }

    /// Gradients from the layer's delta `δ = ∂Loss/∂Z` (shape `(N, outputs)`)
    /// and the input the forward pass saw; also `∂Loss/∂A` when asked for
    /// (the first layer does not need it).
    pub fn backward(
        &self,
        input: ArrayView2<'_, F>,
        delta: ArrayView2<'_, F>,
        need_input_grad: bool,
    ) -> (DenseGrads<F>, Option<Array2<F>>) {
        let grads = DenseGrads {
            weight: delta.t().dot(&input),
            bias: delta.sum_axis(Axis(0)),
        };
        let input_grad = need_input_grad.then(|| delta.dot(&self.weight));
        (grads, input_grad)
    }
}

crate::optim::parameters!(Dense: arrays weight, bias);
crate::optim::parameters!(DenseGrads: arrays weight, bias);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_gradients, numeric_input_gradient};
    use crate::init::{rng, uniform};

    /// Loss `Σ Z ⊙ R` with a fixed random `R`, so `∂Loss/∂Z = R`.
    #[test]
    fn gradients_match_finite_differences() {
        let mut g = rng(1);
        let mut layer = Dense::<f64>::new(5, 4, Init::XavierUniform, &mut g);
        let x: Array2<f64> = uniform((3, 5), 1.0, &mut g);
        let r: Array2<f64> = uniform((3, 4), 1.0, &mut g);
        let loss = |l: &Dense<f64>, x: &Array2<f64>| (l.forward(x.view()) * &r).sum();

        let (grads, dx) = layer.backward(x.view(), r.view(), true);
        let numeric = numeric_gradients(&mut layer, |l| loss(l, &x));
        assert_close(
            "dense weight",
            &grads.weight.view().into_dyn(),
            &numeric[0].view(),
            1e-4,
        );
        assert_close(
            "dense bias",
            &grads.bias.view().into_dyn(),
            &numeric[1].view(),
            1e-4,
        );
        let numeric_dx = numeric_input_gradient(&x, |x| loss(&layer, x));
        assert_close(
            "dense input",
            &dx.unwrap().view().into_dyn(),
            &numeric_dx.view().into_dyn(),
            1e-4,
        );
    }

    #[test]
    fn forward_is_affine() {
        let layer = Dense {
            weight: ndarray::array![[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]],
            bias: ndarray::array![0.5, 0.0, -1.0],
        };
        let z = layer.forward(ndarray::array![[1.0, 1.0], [2.0, 0.0]].view());
        assert_eq!(z, ndarray::array![[3.5, -1.0, 2.5], [2.5, 0.0, 5.0]]);
        assert_eq!((layer.inputs(), layer.outputs()), (2, 3));
    }
}
