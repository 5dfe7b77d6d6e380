//! Flattening `(N, C, H, W)` feature maps into `(N, C·H·W)` rows for a dense
//! layer, in row-major `(c, h, w)` order (as Burn's and PyTorch's `reshape`).

use ndarray::{Array2, Array4, ArrayView2, ArrayView4};

use crate::float::Float;

/// `(N, C, H, W)` → `(N, C·H·W)`.
pub fn flatten<F: Float>(x: ArrayView4<'_, F>) -> Array2<F> {
    let (n, c, h, w) = x.dim();
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, c * h * w))
        .expect("standard layout")
}

/// The backward of [`flatten`]: `(N, C·H·W)` → `(N, C, H, W)`.
pub fn unflatten<F: Float>(g: ArrayView2<'_, F>, dim: (usize, usize, usize, usize)) -> Array4<F> {
    g.as_standard_layout()
        .into_owned()
        .into_shape_with_order(dim)
        .expect("element count")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        let x = Array4::from_shape_fn((2, 3, 2, 2), |(n, c, h, w)| {
            (n * 1000 + c * 100 + h * 10 + w) as f64
        });
        let f = flatten(x.view());
        assert_eq!(f.dim(), (2, 12));
        assert_eq!(f[[1, 5]], 1101.0);
        assert_eq!(unflatten(f.view(), x.dim()), x);
    }
}
