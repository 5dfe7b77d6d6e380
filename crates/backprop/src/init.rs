//! Seeded weight initialisation.

use ndarray::{Array, Dimension, ShapeBuilder};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::float::{Float, c};

/// How a layer's weights are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// He (Kaiming) uniform: `U(-√(6/fan_in), √(6/fan_in))`, for the ReLU family.
    HeUniform,
    /// Xavier (Glorot) uniform: `U(-√(6/(fan_in+fan_out)), …)`, for sigmoid and tanh.
    XavierUniform,
}

impl Init {
    /// Half-width of the uniform interval.
    pub fn bound(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Init::HeUniform => (6.0 / fan_in as f64).sqrt(),
            Init::XavierUniform => (6.0 / (fan_in + fan_out) as f64).sqrt(),
        }
    }

    /// A weight array of `shape` drawn from this scheme.
    pub fn weights<F: Float, Sh: ShapeBuilder>(
        self,
        shape: Sh,
        fan_in: usize,
        fan_out: usize,
        rng: &mut StdRng,
    ) -> Array<F, Sh::Dim>
    where
        Sh::Dim: Dimension,
    {
        uniform(shape, self.bound(fan_in, fan_out), rng)
    }
}

/// Biases are drawn from `U(-1/√fan_in, 1/√fan_in)` (PyTorch's default): with a
/// one-dimensional input, as in the sine fit, zero biases would put every
/// first-layer kink at the same point.
pub fn bias<F: Float>(len: usize, fan_in: usize, rng: &mut StdRng) -> ndarray::Array1<F> {
    uniform(len, 1.0 / (fan_in as f64).sqrt(), rng)
}

/// An array of `shape` with entries from `U(-bound, bound)`.
pub fn uniform<F: Float, Sh: ShapeBuilder>(
    shape: Sh,
    bound: f64,
    rng: &mut StdRng,
) -> Array<F, Sh::Dim>
where
    Sh::Dim: Dimension,
{
    Array::from_shape_simple_fn(shape, || c(rng.random_range(-bound..bound)))
}

/// The seeded generator used everywhere in this crate.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_bounded() {
        let a: ndarray::Array2<f64> = Init::HeUniform.weights((30, 40), 40, 30, &mut rng(7));
        let b: ndarray::Array2<f64> = Init::HeUniform.weights((30, 40), 40, 30, &mut rng(7));
        assert_eq!(a, b);
        let bound = Init::HeUniform.bound(40, 30);
        assert!(a.iter().all(|v| v.abs() < bound));
        // Uniform on (-b, b) has variance b²/3; 1200 draws land near it.
        let var = a.iter().map(|v| v * v).sum::<f64>() / a.len() as f64;
        assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.15, "{var}");
        let x: ndarray::Array2<f64> = Init::XavierUniform.weights((3, 4), 4, 3, &mut rng(7));
        assert!(x.iter().all(|v| v.abs() < Init::XavierUniform.bound(4, 3)));
    }
}
