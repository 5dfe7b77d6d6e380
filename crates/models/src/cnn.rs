//! The report's plain CNN and its BatchNorm / dropout variants.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::fast;

/// Channels after the two convolutions, and the pooled side (28 / 4).
pub(crate) const C1: usize = 32;
pub(crate) const C2: usize = 64;
pub(crate) const POOLED: usize = 7;
pub(crate) const HIDDEN: usize = 128;

/// `cnn`, `cnn_bn`, `cnn_dropout` and `cnn_bn_dropout`.
#[derive(Config, Debug)]
pub struct CnnConfig {
    /// BatchNorm after each convolution, before its ReLU.
    #[config(default = false)]
    pub batch_norm: bool,
    /// Dropout after the first convolution's ReLU (so right before the second
    /// convolution and its BatchNorm) and after the flatten; 0 for none.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl CnnConfig {
    pub fn init(&self, device: &Device) -> Cnn {
        let norm = |channels| {
            self.batch_norm
                .then(|| BatchNormConfig::new(channels).init(device))
        };
        Cnn {
            conv1: conv3x3(1, C1, device),
            norm1: norm(C1),
            conv2: conv3x3(C1, C2, device),
            norm2: norm(C2),
            dropout: (self.dropout > 0.0).then(|| DropoutConfig::new(self.dropout).init()),
            head: Head::new(device),
        }
    }
}

pub(crate) fn conv3x3(from: usize, to: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([from, to], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// Average-pool 4, flatten, linear 128, ReLU, linear 12: shared by every CNN.
#[derive(Module, Debug)]
pub struct Head {
    pool: AvgPool2d,
    fc1: Linear,
    fc2: Linear,
}

impl Head {
    pub(crate) fn new(device: &Device) -> Self {
        Head {
            pool: AvgPool2dConfig::new([4, 4]).init(),
            fc1: LinearConfig::new(C2 * POOLED * POOLED, HIDDEN).init(device),
            fc2: LinearConfig::new(HIDDEN, crate::NUM_CLASSES).init(device),
        }
    }

    /// `[B, 64, 28, 28]` to logits; `dropout` (if any) acts on the flattened features.
    pub(crate) fn forward(&self, x: Tensor<4>, dropout: Option<&Dropout>) -> Tensor<2> {
        let x: Tensor<2> = fast::avg_pool(&self.pool, x).flatten(1, 3);
        let x = match dropout {
            Some(d) => d.forward(x),
            None => x,
        };
        self.fc2.forward(relu(self.fc1.forward(x)))
    }
}

#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    norm1: Option<BatchNorm>,
    conv2: Conv2d,
    norm2: Option<BatchNorm>,
    dropout: Option<Dropout>,
    head: Head,
}

/// `relu(norm(conv(x)))`, or `relu(conv(x))` in the convolution's own pass
/// without a BatchNorm.
fn conv_norm_relu(conv: &Conv2d, norm: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match norm {
        Some(n) => fast::norm_relu(n, fast::conv(conv, x)),
        None => fast::conv_relu(conv, x),
    }
}

impl Cnn {
    /// `[B, 1, 28, 28]` to `[B, 12]` logits.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.second_conv_input(images);
        let x = conv_norm_relu(&self.conv2, &self.norm2, x);
        self.head.forward(x, self.dropout.as_ref())
    }

    /// What enters the second convolution (after the first block and its
    /// dropout): where the variance shift of BatchNorm + dropout begins.
    pub fn second_conv_input(&self, images: Tensor<4>) -> Tensor<4> {
        let x = conv_norm_relu(&self.conv1, &self.norm1, images);
        match &self.dropout {
            Some(d) => d.forward(x),
            None => x,
        }
    }

    /// The input of the second BatchNorm (the second convolution's output)
    /// and the running variance that BatchNorm has stored, if it has one.
    pub fn second_norm_probe(&self, images: Tensor<4>) -> (Tensor<4>, Option<Tensor<1>>) {
        let x = fast::conv(&self.conv2, self.second_conv_input(images));
        (x, self.norm2.as_ref().map(|n| n.running_var.value()))
    }
}
