//! The report's residual CNN: two 3x3 convolutions beside a 1x1 shortcut.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;

use crate::cnn::{C1, C2, Head, conv3x3};
use crate::fast;

#[derive(Config, Debug)]
pub struct CnnResConfig {}

impl CnnResConfig {
    pub fn init(&self, device: &Device) -> CnnRes {
        CnnRes {
            conv1: conv3x3(1, C1, device),
            norm1: BatchNormConfig::new(C1).init(device),
            conv2: conv3x3(C1, C2, device),
            norm2: BatchNormConfig::new(C2).init(device),
            shortcut: Conv2dConfig::new([1, C2], [1, 1])
                .with_bias(false)
                .init(device),
            shortcut_norm: BatchNormConfig::new(C2).init(device),
            head: Head::new(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct CnnRes {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    shortcut: Conv2d,
    shortcut_norm: BatchNorm,
    head: Head,
}

impl CnnRes {
    /// `[B, 1, 28, 28]` to `[B, 12]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let skip = fast::conv(&self.shortcut, images.clone());
        let x = fast::norm_relu(&self.norm1, fast::conv(&self.conv1, images));
        let x = fast::conv(&self.conv2, x);
        let joined = fast::norm_join(&self.norm2, x, &self.shortcut_norm, skip);
        self.head.forward(joined, None)
    }
}
