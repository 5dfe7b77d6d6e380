//! The element type: `f32` for fast training, `f64` for gradient checks.

use std::iter::Sum;

use ndarray::NdFloat;

/// A floating-point element type the layers work in: implemented for `f32`
/// and `f64` only. Everything else (`exp`, `ln`, `tanh`, `max`, ...) comes
/// from [`ndarray::NdFloat`] and its `num_traits::Float` supertrait.
pub trait Float: NdFloat + Sum + Default {
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` (exact). Named `as_f64` because `num_traits`'
    /// `ToPrimitive::to_f64` (returning an `Option`) is also in scope.
    fn as_f64(self) -> f64;
}

impl Float for f32 {
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// Shorthand for [`Float::from_f64`].
pub(crate) fn c<F: Float>(value: f64) -> F {
    F::from_f64(value)
}
