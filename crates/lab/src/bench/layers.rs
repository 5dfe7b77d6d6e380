//! `bench --layers`: where a `cnn_res` training step goes, each layer alone,
//! forward and forward + backward.

use anyhow::Result;
use burn::prelude::*;
use dataset::SIDE;
use hanzi12::Backend;
use models::fast;
use std::time::Instant;

/// Time of one layer of `cnn_res` at the training batch.
#[derive(Debug, serde::Serialize)]
pub struct LayerFigures {
    pub layer: &'static str,
    pub batch: usize,
    /// Forward in training mode, milliseconds.
    pub forward_ms: f64,
    /// Forward and backward (input and parameter gradients), milliseconds.
    pub forward_backward_ms: f64,
}

impl LayerFigures {
    /// The figures in one line of text.
    pub fn line(&self) -> String {
        format!(
            "{:<26} batch {}: forward {:7.2} ms, forward + backward {:7.2} ms",
            self.layer, self.batch, self.forward_ms, self.forward_backward_ms
        )
    }
}

/// Mean milliseconds of `f` over `runs` calls, after two warm-up calls.
fn mean_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let started = Instant::now();
    for _ in 0..runs {
        f();
    }
    1000.0 * started.elapsed().as_secs_f64() / runs as f64
}

/// Where a `cnn_res` training step goes: each layer alone, forward and
/// forward + backward, on random inputs of the shapes it meets.
pub fn layers(backend: Backend, batch: usize, runs: usize) -> Result<Vec<LayerFigures>> {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::{BatchNormConfig, PaddingConfig2d};
    use burn::tensor::Distribution;

    let device = backend.device()?.autodiff();
    let input = |channels| {
        Tensor::<4>::random(
            [batch, channels, SIDE, SIDE],
            Distribution::Default,
            &device,
        )
    };
    let conv = |from, to, k| {
        let padding = (k - 1) / 2;
        Conv2dConfig::new([from, to], [k, k])
            .with_padding(PaddingConfig2d::Explicit(
                padding, padding, padding, padding,
            ))
            .init(&device)
    };
    let (x1, x32, x64) = (input(1), input(32), input(64));
    let (conv1, conv2, shortcut) = (conv(1, 32, 3), conv(32, 64, 3), conv(1, 64, 1));
    let (norm32, norm64, shortcut_norm) = (
        BatchNormConfig::new(32).init(&device),
        BatchNormConfig::new(64).init(&device),
        BatchNormConfig::new(64).init(&device),
    );
    type Layer<'a> = (
        &'static str,
        &'a Tensor<4>,
        Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>,
    );
    let layers: Vec<Layer> = vec![
        ("conv 3x3 1->32", &x1, Box::new(|x| fast::conv(&conv1, x))),
        (
            "batchnorm + relu 32",
            &x32,
            Box::new(|x| fast::norm_relu(&norm32, x)),
        ),
        ("conv 3x3 32->64", &x32, Box::new(|x| fast::conv(&conv2, x))),
        (
            "shortcut conv 1x1 1->64",
            &x1,
            Box::new(|x| fast::conv(&shortcut, x)),
        ),
        (
            "join: 2 batchnorm 64 + add + relu",
            &x64,
            Box::new(|x| fast::norm_join(&norm64, x.clone(), &shortcut_norm, x)),
        ),
    ];
    Ok(layers
        .into_iter()
        .map(|(layer, x, f)| time_layer(layer, x, f, runs))
        .collect())
}

/// One layer's forward, and forward + backward, times on `x`.
fn time_layer(
    layer: &'static str,
    x: &Tensor<4>,
    f: impl Fn(Tensor<4>) -> Tensor<4>,
    runs: usize,
) -> LayerFigures {
    let forward_ms = mean_ms(runs, || {
        let _ = f(x.clone()).sum().into_data();
    });
    let x = x.clone().require_grad();
    let forward_backward_ms = mean_ms(runs, || {
        let grads = f(x.clone()).sum().backward();
        let _ = x.grad(&grads).map(|g| g.sum().into_data());
    });
    LayerFigures {
        layer,
        batch: x.dims()[0],
        forward_ms,
        forward_backward_ms,
    }
}
