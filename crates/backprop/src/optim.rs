//! Mini-batch stochastic gradient descent, optionally with momentum.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Zip};

use crate::float::Float;

/// Anything made of parameter tensors: a model, a layer, or a gradient of one
/// (which lists its tensors in the same order as the thing it differentiates).
pub trait Parameters<F> {
    /// The tensors, in a fixed order.
    fn tensors(&self) -> Vec<ArrayViewD<'_, F>>;
    /// The same tensors, mutable.
    fn tensors_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>>;

    /// Total number of scalars.
    fn num_params(&self) -> usize {
        self.tensors().iter().map(|t| t.len()).sum()
    }
}

impl<F, P: Parameters<F>> Parameters<F> for Vec<P> {
    fn tensors(&self) -> Vec<ArrayViewD<'_, F>> {
        self.iter().flat_map(|p| p.tensors()).collect()
    }
    fn tensors_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        self.iter_mut().flat_map(|p| p.tensors_mut()).collect()
    }
}

/// Implements [`Parameters`] for a struct generic over its float, from its
/// fields in order: each an `ndarray` array (`arrays`), or itself made of
/// parameters (`layers`). A layer and its gradient list the same fields, so
/// their tensors line up.
macro_rules! parameters {
    ($ty:ident: arrays $($field:ident),+) => {
        impl<F: $crate::float::Float> $crate::optim::Parameters<F> for $ty<F> {
            fn tensors(&self) -> Vec<ndarray::ArrayViewD<'_, F>> {
                vec![$(self.$field.view().into_dyn()),+]
            }
            fn tensors_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
                vec![$(self.$field.view_mut().into_dyn()),+]
            }
        }
    };
    ($ty:ident: layers $($field:ident),+) => {
        impl<F: $crate::float::Float> $crate::optim::Parameters<F> for $ty<F> {
            fn tensors(&self) -> Vec<ndarray::ArrayViewD<'_, F>> {
                let mut tensors = Vec::new();
                $(tensors.extend(self.$field.tensors());)+
                tensors
            }
            fn tensors_mut(&mut self) -> Vec<ndarray::ArrayViewMutD<'_, F>> {
                let mut tensors = Vec::new();
                $(tensors.extend(self.$field.tensors_mut());)+
                tensors
            }
        }
    };
}
pub(crate) use parameters;

/// SGD: `v ← μ v + g`, `θ ← θ - η v` (plain SGD when `μ = 0`).
#[derive(Clone, Debug)]
pub struct Sgd<F> {
    /// Learning rate `η`.
    pub learning_rate: F,
    /// Momentum `μ`, 0 for plain SGD.
    pub momentum: F,
    velocity: Vec<ArrayD<F>>,
}

impl<F: Float> Sgd<F> {
    /// An optimiser; velocities are created on the first step.
    pub fn new(learning_rate: F, momentum: F) -> Self {
        Sgd {
            learning_rate,
            momentum,
            velocity: Vec::new(),
        }
    }

    /// One update of `params` from `grads` (same tensor order and shapes).
    pub fn step<P, G>(&mut self, params: &mut P, grads: &G)
    where
        P: Parameters<F> + ?Sized,
        G: Parameters<F> + ?Sized,
    {
        let mut params = params.tensors_mut();
        let grads = grads.tensors();
        assert_eq!(params.len(), grads.len(), "Sgd::step: tensor counts differ");
        let lr = self.learning_rate;
        if self.momentum == F::zero() {
            for (p, g) in params.iter_mut().zip(&grads) {
                Zip::from(p).and(g).for_each(|p, &g| *p -= lr * g);
            }
            return;
        }
        if self.velocity.is_empty() {
            self.velocity = grads.iter().map(|g| ArrayD::zeros(g.raw_dim())).collect();
        }
        let mu = self.momentum;
        for ((p, g), v) in params.iter_mut().zip(&grads).zip(&mut self.velocity) {
            Zip::from(p).and(g).and(v).for_each(|p, &g, v| {
                *v = mu * *v + g;
                *p -= lr * *v;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense::{Dense, DenseGrads};
    use ndarray::array;

    fn layer() -> Dense<f64> {
        Dense {
            weight: array![[1.0, 2.0]],
            bias: array![0.5],
        }
    }

    fn grads() -> DenseGrads<f64> {
        DenseGrads {
            weight: array![[1.0, -1.0]],
            bias: array![2.0],
        }
    }

    #[test]
    fn plain_step() {
        let mut l = layer();
        Sgd::new(0.1, 0.0).step(&mut l, &grads());
        assert_eq!(l.weight, array![[0.9, 2.1]]);
        assert_eq!(l.bias, array![0.3]);
    }

    #[test]
    fn momentum_accumulates() {
        let mut l = layer();
        let mut opt = Sgd::new(0.1, 0.5);
        opt.step(&mut l, &grads());
        opt.step(&mut l, &grads());
        // v₁ = g, v₂ = 1.5 g: total displacement 2.5 η g.
        assert!((l.weight[[0, 0]] - (1.0 - 0.25)).abs() < 1e-12);
        assert!((l.bias[0] - (0.5 - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn minimises_a_quadratic() {
        // Loss ½‖W‖²: gradient W.
        let mut l = layer();
        let mut opt = Sgd::new(0.1, 0.9);
        for _ in 0..300 {
            let g = DenseGrads {
                weight: l.weight.clone(),
                bias: l.bias.clone(),
            };
            opt.step(&mut l, &g);
        }
        assert!(l.weight.iter().chain(l.bias.iter()).all(|v| v.abs() < 1e-6));
    }
}
