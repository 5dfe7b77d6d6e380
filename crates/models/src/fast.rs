//! `Conv2d`, `BatchNorm` and `AvgPool2d` forwards, and the residual join,
//! through the `kernels` crate, which trains them faster on the CPU (flex)
//! backend and is Burn's stock operation on any other. The modules themselves
//! stay Burn's, so checkpoints are unchanged.

use burn::backend::ops::ConvOptions;
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;

/// `Conv2d::forward`.
pub fn conv(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        // Not used by these networks; Burn works out its size per input.
        PaddingConfig2d::Same => return layer.forward(x),
    };
    let options =
        ConvOptions::new_with_padding(layer.stride, padding, layer.dilation, layer.groups);
    kernels::conv2d(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// `BatchNorm::forward`: batch statistics (and a running-average update) when
/// training, the running statistics otherwise.
pub fn norm<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !(device.is_autodiff() && layer.training.is_enabled()) {
        return kernels::batch_norm_eval(
            x,
            layer.gamma.val(),
            layer.beta.val(),
            layer.running_mean.value().to_device(&device),
            layer.running_var.value().to_device(&device),
            layer.epsilon,
        );
    }
    let batch = kernels::batch_norm_train(x, layer.gamma.val(), layer.beta.val(), layer.epsilon);
    // The same running averages as `BatchNorm::forward` keeps.
    let blend = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - layer.momentum)
            .add(batch.detach().mul_scalar(layer.momentum))
            .detach()
    };
    layer
        .running_mean
        .update(blend(layer.running_mean.value_sync(), batch.mean));
    layer
        .running_var
        .update(blend(layer.running_var.value_sync(), batch.variance));
    batch.output
}

/// `AvgPool2d::forward`.
pub fn avg_pool(layer: &AvgPool2d, x: Tensor<4>) -> Tensor<4> {
    let tiled = layer.stride == layer.kernel_size
        && matches!(layer.padding, PaddingConfig2d::Valid)
        && !layer.ceil_mode;
    if tiled {
        kernels::avg_pool2d_tiled(x, layer.kernel_size)
    } else {
        layer.forward(x)
    }
}

/// `relu(x + skip)`, where a residual block rejoins its shortcut.
pub fn add_relu(x: Tensor<4>, skip: Tensor<4>) -> Tensor<4> {
    kernels::add_relu(x, skip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::pool::AvgPool2dConfig;
    use burn::tensor::{Distribution, Tolerance};

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn assert_same<const D: usize>(fast: Tensor<D>, stock: Tensor<D>) {
        fast.into_data()
            .assert_approx_eq::<f32>(&stock.into_data(), Tolerance::absolute(1e-4));
    }

    #[test]
    fn norm_keeps_the_running_statistics_burn_keeps() {
        // Two layers with the same (deterministic) initial state.
        let [fast, stock] = [(); 2].map(|_| BatchNormConfig::new(3).init(&device()));
        for step in 0..3 {
            let x = Tensor::<4>::random(
                [4, 3, 5, 5],
                Distribution::Normal(step as f64, 2.0),
                &device(),
            );
            assert_same(norm(&fast, x.clone()), stock.forward(x));
        }
        assert_same(fast.running_mean.value(), stock.running_mean.value());
        assert_same(fast.running_var.value(), stock.running_var.value());
        // Evaluation mode uses them.
        let (fast, stock) = (fast.valid(), stock.valid());
        let x = Tensor::<4>::random([2, 3, 5, 5], Distribution::Default, &Device::flex());
        assert_same(norm(&fast, x.clone()), stock.forward(x));
    }

    #[test]
    fn conv_and_pool_are_the_layers_forward() {
        let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device());
        let padded = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 0, 2, 1))
            .init(&device());
        let valid = Conv2dConfig::new([3, 4], [1, 1])
            .with_bias(false)
            .init(&device());
        for layer in [padded, valid] {
            assert_same(conv(&layer, x.clone()), layer.forward(x.clone()));
        }
        let pool = AvgPool2dConfig::new([4, 4]).init();
        assert_same(avg_pool(&pool, x.clone()), pool.forward(x));
    }
}
