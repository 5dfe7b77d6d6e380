//! Average pooling over windows that tile the input.

use burn::backend::Dispatch;
use burn::tensor::Tensor;

use crate::{FastLayers, accelerated};

/// Average pooling with stride = kernel and no padding, as
/// `burn::tensor::module::avg_pool2d`.
pub fn avg_pool2d_tiled(x: Tensor<4>, kernel: [usize; 2]) -> Tensor<4> {
    let [_, _, height, width] = x.dims();
    let tiles = kernel[0] > 0 && kernel[1] > 0 && height % kernel[0] == 0 && width % kernel[1] == 0;
    if !accelerated(&x.device(), x.dtype()) || !tiles {
        let options = burn::tensor::ops::AvgPoolOptions::new(kernel).with_stride(kernel);
        return burn::tensor::module::avg_pool2d(x, options);
    }
    Tensor::from_dispatch(Dispatch::avg_pool2d_tiled(x.into_dispatch(), kernel))
}
