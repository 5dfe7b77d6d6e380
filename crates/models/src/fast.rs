//! `Conv2d`, `BatchNorm` and `AvgPool2d` forwards, and the residual join,
//! through the `kernels` crate, which trains them faster on the CPU (flex)
//! backend and is Burn's stock operation on any other. The modules themselves
//! stay Burn's, so checkpoints are unchanged.

use burn::backend::ops::ConvOptions;
use burn::module::{ModuleMapper, Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::pool::AvgPool2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// `Conv2d::forward`.
pub fn conv(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let Some(options) = conv_options(layer) else {
        return layer.forward(x);
    };
    let (weight, bias) = (layer.weight.val(), layer.bias.as_ref().map(|b| b.val()));
    kernels::conv2d(x, weight, bias, options)
}

/// `relu(Conv2d::forward(x))`, the ReLU in the convolution's own pass.
pub fn conv_relu(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let Some(options) = conv_options(layer) else {
        return relu(layer.forward(x));
    };
    let (weight, bias) = (layer.weight.val(), layer.bias.as_ref().map(|b| b.val()));
    kernels::conv2d_relu(x, weight, bias, options)
}

/// The layer's options with its padding spelt out; `None` for "same"
/// padding, which these networks do not use (Burn works out its size per
/// input).
fn conv_options(layer: &Conv2d) -> Option<ConvOptions<2>> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => return None,
    };
    Some(ConvOptions::new_with_padding(
        layer.stride,
        padding,
        layer.dilation,
        layer.groups,
    ))
}

/// `BatchNorm::forward`: batch statistics (and a running-average update) when
/// training, the running statistics otherwise.
pub fn norm<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    if !trains(layer, &x.device()) {
        return norm_eval(layer, x);
    }
    let (output, stats) = kernels::batch_norm_train(input(layer, x));
    keep_running(layer, stats);
    output
}

/// `relu(norm(layer, x))`, in one pass.
pub fn norm_relu<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !trains(layer, &device) {
        return kernels::batch_norm_relu_eval(input(layer, x), running(layer, &device));
    }
    let (output, stats) = kernels::batch_norm_relu_train(input(layer, x));
    keep_running(layer, stats);
    output
}

/// `relu(norm(layer, x) + norm(skip_layer, skip))`, where a residual block
/// rejoins its normalised shortcut; in one pass.
pub fn norm_join<const D: usize>(
    layer: &BatchNorm,
    x: Tensor<D>,
    skip_layer: &BatchNorm,
    skip: Tensor<D>,
) -> Tensor<D> {
    let device = x.device();
    match (trains(layer, &device), trains(skip_layer, &device)) {
        (true, true) => {
            let (output, [stats, skip_stats]) =
                kernels::batch_norm_join_train(input(layer, x), input(skip_layer, skip));
            keep_running(layer, stats);
            keep_running(skip_layer, skip_stats);
            output
        }
        (false, false) => kernels::batch_norm_join_eval(
            (input(layer, x), running(layer, &device)),
            (input(skip_layer, skip), running(skip_layer, &device)),
        ),
        // One in evaluation mode, one training: not these networks, but still correct.
        _ => kernels::add_relu(norm(layer, x), norm(skip_layer, skip)),
    }
}

/// Whether `layer` normalises with the batch's statistics, as
/// `BatchNorm::forward` does when training on an autodiff device.
fn trains(layer: &BatchNorm, device: &Device) -> bool {
    device.is_autodiff() && layer.training.is_enabled()
}

/// BatchNorm with the running statistics.
fn norm_eval<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    kernels::batch_norm_eval(input(layer, x), running(layer, &device))
}

/// The running statistics, on `device`.
fn running(layer: &BatchNorm, device: &Device) -> kernels::NormStats {
    kernels::NormStats {
        mean: layer.running_mean.value().to_device(device),
        variance: layer.running_var.value().to_device(device),
    }
}

fn input<const D: usize>(layer: &BatchNorm, x: Tensor<D>) -> kernels::NormInput<D> {
    kernels::NormInput {
        x,
        gamma: layer.gamma.val(),
        beta: layer.beta.val(),
        epsilon: layer.epsilon,
    }
}

/// The same running averages as `BatchNorm::forward` keeps.
///
/// The new averages are written straight into the layer's value, not through
/// `RunningState::update`: that keeps one pending value per thread and
/// averages them, and training steps run on whichever thread of rayon's pool
/// is free (`kernels::on_pool_thread`), so updates from two threads would be
/// averaged instead of following one another.
///
/// Under Burn's multi-device strategy one step per device runs at once,
/// each on a clone of the model whose running statistics are shared, so two
/// steps update the same layer together: [`RUNNING_UPDATES`] makes each
/// read-blend-write whole, and both updates count, one after the other.
fn keep_running(layer: &BatchNorm, stats: kernels::NormStats) {
    let device = stats.mean.device();
    let blend = |running: &RunningState<Tensor<1>>, batch: Tensor<1>| {
        let value = running
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - layer.momentum)
            .add(batch.detach().mul_scalar(layer.momentum))
            .detach();
        // A clone shares the layer's value.
        running.clone().map(&mut Replace(value));
    };
    let _turn = RUNNING_UPDATES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    blend(&layer.running_mean, stats.mean);
    blend(&layer.running_var, stats.variance);
}

/// One running-statistics update at a time in the process. Held only over
/// operations on one value per channel, far below the size at which flex
/// splits an operation across rayon's threads, so a thread holding it never
/// waits for the pool (where it could pick up another step that waits for
/// the lock).
static RUNNING_UPDATES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Replaces the value of the (one) tensor it maps.
struct Replace(Tensor<1>);

impl ModuleMapper for Replace {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let shape = param.val().shape();
        Param::initialized(param.id, self.0.clone().reshape(shape))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::BatchNormConfig;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::pool::AvgPool2dConfig;
    use burn::tensor::activation::relu;
    use burn::tensor::{Distribution, Tolerance};

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn assert_same<const D: usize>(fast: Tensor<D>, stock: Tensor<D>) {
        fast.into_data()
            .assert_approx_eq::<f32>(&stock.into_data(), Tolerance::absolute(1e-4));
    }

    type Layers<const L: usize> = [BatchNorm; L];

    /// The input of training step `step` of the BatchNorm checks, drawn
    /// from seed `step` (the tests run in parallel, and flex has one random
    /// generator for the whole process: see `testdata::seeded`).
    fn training_batch(step: usize) -> Tensor<4> {
        testdata::seeded(&device(), step as u64, || {
            Tensor::<4>::random(
                [4, 3, 5, 5],
                Distribution::Normal(step as f64, 2.0),
                &device(),
            )
        })
    }

    /// The two layers keep the same running statistics. `value_sync`:
    /// Burn's own forward leaves its last update pending.
    fn assert_same_running(fast: &BatchNorm, stock: &BatchNorm) {
        assert_same(
            fast.running_mean.value_sync(),
            stock.running_mean.value_sync(),
        );
        assert_same(
            fast.running_var.value_sync(),
            stock.running_var.value_sync(),
        );
    }

    /// `fast` against `stock` on layers with the same (deterministic) initial
    /// state: outputs and running statistics over 3 training steps, then the
    /// output in evaluation mode, which uses those statistics.
    fn check_norms<const L: usize>(
        fast: impl Fn(&Layers<L>, Tensor<4>) -> Tensor<4>,
        stock: impl Fn(&Layers<L>, Tensor<4>) -> Tensor<4>,
    ) {
        let layers = || std::array::from_fn(|_| BatchNormConfig::new(3).init(&device()));
        let (fast_layers, stock_layers): (Layers<L>, Layers<L>) = (layers(), layers());
        for step in 0..3 {
            let x = training_batch(step);
            assert_same(fast(&fast_layers, x.clone()), stock(&stock_layers, x));
        }
        for (fast, stock) in fast_layers.iter().zip(&stock_layers) {
            assert_same_running(fast, stock);
        }
        let (fast_layers, stock_layers) = (
            fast_layers.map(|l| l.valid()),
            stock_layers.map(|l| l.valid()),
        );
        let x = testdata::seeded(&Device::flex(), 100, || {
            Tensor::<4>::random([2, 3, 5, 5], Distribution::Default, &Device::flex())
        });
        assert_same(fast(&fast_layers, x.clone()), stock(&stock_layers, x));
    }

    #[test]
    fn norm_keeps_the_running_statistics_burn_keeps() {
        check_norms(|[n], x| norm(n, x), |[n], x| n.forward(x));
    }

    /// Training steps run on whichever thread of rayon's pool is free: the
    /// running statistics of steps on different threads follow one another
    /// as they do on one thread.
    #[test]
    fn running_statistics_follow_each_other_across_threads() {
        let layer = || BatchNormConfig::new(3).init(&device());
        let (fast, stock) = (layer(), layer());
        for step in 0..3 {
            let x = training_batch(step);
            std::thread::scope(|s| {
                s.spawn(|| norm(&fast, x.clone()));
            });
            let _ = stock.forward(x);
        }
        assert_same_running(&fast, &stock);
    }

    /// Burn's multi-device strategy runs one step per device at once on a
    /// model whose running statistics are shared: both steps' updates
    /// count, one after the other (in either order), none is lost.
    #[test]
    fn concurrent_steps_both_update_the_running_statistics() {
        let layer = || BatchNormConfig::new(3).init(&device());
        let after = |batches: [&Tensor<4>; 2]| {
            let stock = layer();
            for x in batches {
                let _ = stock.forward(x.clone());
            }
            stock
        };
        let close = |a: &BatchNorm, b: &BatchNorm| {
            let values = |l: &BatchNorm| {
                let mut v = l
                    .running_mean
                    .value_sync()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap();
                v.extend(
                    l.running_var
                        .value_sync()
                        .into_data()
                        .try_to_vec::<f32>()
                        .unwrap(),
                );
                v
            };
            let (a, b) = (values(a), values(b));
            a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-4)
        };
        for round in 0..20 {
            let (a, b) = (training_batch(2 * round), training_batch(2 * round + 1));
            let fast = layer();
            let start = std::sync::Barrier::new(2);
            std::thread::scope(|s| {
                for x in [&a, &b] {
                    let (fast, start) = (&fast, &start);
                    s.spawn(move || {
                        start.wait();
                        norm(fast, x.clone())
                    });
                }
            });
            assert!(
                close(&fast, &after([&a, &b])) || close(&fast, &after([&b, &a])),
                "round {round}: an update was lost"
            );
        }
    }

    #[test]
    fn norm_relu_is_relu_of_the_layers_forward() {
        check_norms(|[n], x| norm_relu(n, x), |[n], x| relu(n.forward(x)));
    }

    #[test]
    fn norm_join_is_relu_of_the_sum_of_the_layers_forwards() {
        let skip = |x: Tensor<4>| x.mul_scalar(-0.5).add_scalar(1.0);
        check_norms(
            |[n, s], x| norm_join(n, x.clone(), s, skip(x)),
            |[n, s], x| relu(n.forward(x.clone()) + s.forward(skip(x))),
        );
    }

    #[test]
    fn conv_and_pool_are_the_layers_forward() {
        let x = testdata::seeded(&device(), 101, || {
            Tensor::<4>::random([2, 3, 8, 8], Distribution::Default, &device())
        });
        let padded = testdata::seeded_module(&device(), 102, || {
            Conv2dConfig::new([3, 4], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 0, 2, 1))
                .init(&device())
        });
        let valid = testdata::seeded_module(&device(), 103, || {
            Conv2dConfig::new([3, 4], [1, 1])
                .with_bias(false)
                .init(&device())
        });
        for layer in [padded, valid] {
            assert_same(conv(&layer, x.clone()), layer.forward(x.clone()));
            assert_same(conv_relu(&layer, x.clone()), relu(layer.forward(x.clone())));
        }
        let pool = AvgPool2dConfig::new([4, 4]).init();
        assert_same(avg_pool(&pool, x.clone()), pool.forward(x));
    }
}
