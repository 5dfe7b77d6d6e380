//! Inverted dropout with a seeded generator.
//!
//! During training each unit is kept with probability `1 - p` and the kept
//! ones are scaled by `1 / (1 - p)`, so evaluation needs no rescaling. The
//! forward pass returns the mask (0 or `1/(1-p)` per element); backward
//! multiplies the incoming gradient by the same mask.

use ndarray::{Array, Dimension, ShapeBuilder};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::float::{Float, c};
use crate::init::rng;

/// A dropout layer: probability and its own seeded generator.
#[derive(Debug)]
pub struct Dropout {
    probability: f64,
    rng: StdRng,
}

impl Dropout {
    /// Drops each unit with `probability` (in `[0, 1)`), drawing from a
    /// generator seeded with `seed`.
    pub fn new(probability: f64, seed: u64) -> Self {
        assert!(
            (0.0..1.0).contains(&probability),
            "dropout probability must be in [0, 1), got {probability}"
        );
        Dropout {
            probability,
            rng: rng(seed),
        }
    }

    /// The drop probability `p`.
    pub fn probability(&self) -> f64 {
        self.probability
    }

    /// A fresh mask: each entry 0 with probability `p`, else `1/(1-p)`.
    pub fn mask<F: Float, Sh: ShapeBuilder>(&mut self, shape: Sh) -> Array<F, Sh::Dim>
    where
        Sh::Dim: Dimension,
    {
        let keep = c::<F>(1.0 / (1.0 - self.probability));
        let p = self.probability;
        let rng = &mut self.rng;
        Array::from_shape_simple_fn(shape, || {
            if p > 0.0 && rng.random_bool(p) {
                F::zero()
            } else {
                keep
            }
        })
    }

    /// Training-time forward: `(x ⊙ mask, mask)`.
    pub fn forward<F: Float, D: Dimension>(
        &mut self,
        x: &Array<F, D>,
    ) -> (Array<F, D>, Array<F, D>) {
        let mask = self.mask(x.raw_dim());
        (x * &mask, mask)
    }

    /// Backward: `grad ⊙ mask`.
    pub fn backward<F: Float, D: Dimension>(mask: &Array<F, D>, grad: &Array<F, D>) -> Array<F, D> {
        grad * mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_close, numeric_input_gradient};
    use crate::init::uniform;
    use ndarray::Array2;

    #[test]
    fn mask_statistics_and_seeding() {
        let mut d = Dropout::new(0.25, 3);
        let m: Array2<f64> = d.mask((100, 100));
        let kept = m.iter().filter(|&&v| v != 0.0).count() as f64 / 1e4;
        assert!((kept - 0.75).abs() < 0.02, "{kept}");
        assert!(
            m.iter()
                .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-12)
        );
        // Inverted dropout keeps the mean.
        assert!((m.mean().unwrap() - 1.0).abs() < 0.03);
        let again: Array2<f64> = Dropout::new(0.25, 3).mask((100, 100));
        assert_eq!(m, again);
        let none: Array2<f64> = Dropout::new(0.0, 3).mask((4, 4));
        assert!(none.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut g = rng(5);
        let x: Array2<f64> = uniform((4, 6), 1.0, &mut g);
        let r: Array2<f64> = uniform((4, 6), 1.0, &mut g);
        let mask: Array2<f64> = Dropout::new(0.5, 9).mask((4, 6));
        // Loss Σ sin(x ⊙ mask) ⊙ r, a nonlinear function of the dropped values.
        let loss = |x: &Array2<f64>| ((x * &mask).mapv(f64::sin) * &r).sum();
        let upstream = (&x * &mask).mapv(f64::cos) * &r;
        let analytic = Dropout::backward(&mask, &upstream);
        let numeric = numeric_input_gradient(&x, loss);
        assert_close(
            "dropout",
            &analytic.view().into_dyn(),
            &numeric.view().into_dyn(),
            1e-4,
        );
    }
}
