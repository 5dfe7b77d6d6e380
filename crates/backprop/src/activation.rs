//! Element-wise activation functions and their derivatives.
//!
//! Every derivative here is written in terms of the activation's *output*
//! `a = f(z)`, as the report's `Δ` (e.g. `a (1 - a)` for the sigmoid): the
//! forward pass only has to keep the outputs.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array, Dimension, Zip};

use crate::float::{Float, c};
use crate::init::Init;

/// Negative-side slope of [`Activation::LeakyRelu`].
pub const LEAKY_RELU_SLOPE: f64 = 0.01;

/// The activation functions of the study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `1 / (1 + e^-z)`; derivative `a (1 - a)`.
    Sigmoid,
    /// `z` for `z > 0`, else `0.01 z`; derivative 1 or 0.01.
    LeakyRelu,
    /// `max(z, 0)`; derivative 1 for `z > 0`, else 0.
    Relu,
    /// `tanh z`; derivative `1 - a²`.
    Tanh,
}

impl Activation {
    /// All four, for tests and command lines.
    pub const ALL: [Activation; 4] = [
        Activation::Sigmoid,
        Activation::LeakyRelu,
        Activation::Relu,
        Activation::Tanh,
    ];

    /// `f(z)` for one value.
    pub fn apply<F: Float>(self, z: F) -> F {
        match self {
            Activation::Sigmoid => {
                // Two branches so that neither `exp` can overflow.
                if z >= F::zero() {
                    F::one() / (F::one() + (-z).exp())
                } else {
                    let e = z.exp();
                    e / (F::one() + e)
                }
            }
            Activation::LeakyRelu => {
                if z > F::zero() {
                    z
                } else {
                    c::<F>(LEAKY_RELU_SLOPE) * z
                }
            }
            Activation::Relu => {
                if z > F::zero() {
                    z
                } else {
                    F::zero()
                }
            }
            Activation::Tanh => z.tanh(),
        }
    }

    /// `f'(z)` expressed through the output `a = f(z)`.
    ///
    /// For the two ReLUs the sign of `a` is the sign of `z` (the leaky slope is
    /// positive), so the output is enough; at the kink `z = 0` the derivative
    /// is taken as the left one.
    pub fn derivative_from_output<F: Float>(self, a: F) -> F {
        match self {
            Activation::Sigmoid => a * (F::one() - a),
            Activation::LeakyRelu => {
                if a > F::zero() {
                    F::one()
                } else {
                    c(LEAKY_RELU_SLOPE)
                }
            }
            Activation::Relu => {
                if a > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Activation::Tanh => F::one() - a * a,
        }
    }

    /// `f` applied element-wise.
    pub fn forward<F: Float, D: Dimension>(self, z: &Array<F, D>) -> Array<F, D> {
        // One loop per activation (not a `match` per element) so that each
        // compiles to branch-free code.
        match self {
            Activation::Sigmoid => z.mapv(|v| Activation::Sigmoid.apply(v)),
            Activation::LeakyRelu => z.mapv(|v| Activation::LeakyRelu.apply(v)),
            Activation::Relu => z.mapv(|v| Activation::Relu.apply(v)),
            Activation::Tanh => z.mapv(|v| Activation::Tanh.apply(v)),
        }
    }

    /// Backward through `f`: `grad ⊙ f'(z)`, with `output = f(z)` from the
    /// forward pass.
    pub fn backward<F: Float, D: Dimension>(
        self,
        output: &Array<F, D>,
        grad: &Array<F, D>,
    ) -> Array<F, D> {
        let mut out = grad.clone();
        self.backward_in_place(output, &mut out);
        out
    }

    /// In-place form of [`backward`](Self::backward): `grad ← grad ⊙ f'(z)`.
    pub fn backward_in_place<F: Float, D: Dimension>(
        self,
        output: &Array<F, D>,
        grad: &mut Array<F, D>,
    ) {
        fn scale<F: Float, D: Dimension>(
            output: &Array<F, D>,
            grad: &mut Array<F, D>,
            d: impl Fn(F) -> F,
        ) {
            Zip::from(grad).and(output).for_each(|g, &a| *g *= d(a));
        }
        // As in `forward`: the match outside the loop keeps the ReLU
        // derivatives branch-free (a per-element branch on the sign of
        // random data costs a misprediction every other element).
        match self {
            Activation::Sigmoid => scale(output, grad, |a| {
                Activation::Sigmoid.derivative_from_output(a)
            }),
            Activation::LeakyRelu => scale(output, grad, |a| {
                Activation::LeakyRelu.derivative_from_output(a)
            }),
            Activation::Relu => scale(output, grad, |a| Activation::Relu.derivative_from_output(a)),
            Activation::Tanh => scale(output, grad, |a| Activation::Tanh.derivative_from_output(a)),
        }
    }

    /// The initialisation that keeps activations at a sensible scale:
    /// He for the ReLU family, Xavier for the saturating ones.
    pub fn default_init(self) -> Init {
        match self {
            Activation::LeakyRelu | Activation::Relu => Init::HeUniform,
            Activation::Sigmoid | Activation::Tanh => Init::XavierUniform,
        }
    }

    /// The lower-case name used on command lines.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::LeakyRelu => "leaky-relu",
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An activation name that [`Activation::from_str`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownActivation(pub String);

impl fmt::Display for UnknownActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown activation `{}` (expected sigmoid, leaky-relu, relu or tanh)",
            self.0
        )
    }
}

impl std::error::Error for UnknownActivation {}

impl FromStr for Activation {
    type Err = UnknownActivation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "sigmoid" => Ok(Activation::Sigmoid),
            "leaky-relu" | "leakyrelu" | "lrelu" => Ok(Activation::LeakyRelu),
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            _ => Err(UnknownActivation(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::central_difference;

    #[test]
    fn values() {
        assert_eq!(Activation::Relu.apply(-2.0_f64), 0.0);
        assert_eq!(Activation::Relu.apply(3.0_f64), 3.0);
        assert_eq!(Activation::LeakyRelu.apply(-2.0_f64), -0.02);
        assert!((Activation::Sigmoid.apply(0.0_f64) - 0.5).abs() < 1e-15);
        assert!((Activation::Sigmoid.apply(-800.0_f64)).abs() < 1e-300);
        assert!((Activation::Sigmoid.apply(800.0_f64) - 1.0).abs() < 1e-15);
        assert!((Activation::Tanh.apply(1.0_f64) - 1.0_f64.tanh()).abs() < 1e-15);
    }

    /// The output-based derivative of every activation agrees with a
    /// central difference of the function itself, away from the ReLU kink.
    #[test]
    fn derivatives_match_central_differences() {
        for act in Activation::ALL {
            for &z in &[-3.1, -0.7, -0.05, 0.03, 0.4, 2.2] {
                let numeric = central_difference(|v| act.apply(v), z, 1e-6);
                let analytic = act.derivative_from_output(act.apply(z));
                let rel = (numeric - analytic).abs() / analytic.abs().max(1e-12);
                assert!(rel < 1e-6, "{act} at {z}: {analytic} vs {numeric}");
            }
        }
    }

    #[test]
    fn parses_names() {
        for act in Activation::ALL {
            assert_eq!(act.name().parse::<Activation>().unwrap(), act);
        }
        assert_eq!(
            "LeakyReLU".parse::<Activation>().unwrap(),
            Activation::LeakyRelu
        );
        assert!("swish".parse::<Activation>().is_err());
    }
}
