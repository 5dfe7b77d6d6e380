//! Adam with each parameter's update in one pass over its values
//! (`kernels::adam_step`) instead of Burn's dozen whole-tensor operations:
//! the same numbers as Burn's `Adam`, and the same state record, so
//! checkpoints and resumed runs are unchanged.

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};
use kernels::AdamStep;

/// Adam's hyper-parameters; `beta_1` and `beta_2` are Burn's (and
/// PyTorch's) defaults.
#[derive(Clone, Debug)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// The L2 penalty added to each gradient.
    weight_decay: Option<f32>,
}

impl FusedAdam {
    pub fn new(epsilon: f32, weight_decay: Option<f32>) -> Self {
        FusedAdam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon,
            weight_decay,
        }
    }

    /// The optimizer for a whole module.
    pub fn init(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // Zero moments at the first step give Burn's first-step formula.
        let (time, moment_1, moment_2) = match state {
            Some(AdamState { momentum }) => (momentum.time, momentum.moment_1, momentum.moment_2),
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let time = time + 1;
        let step = AdamStep::new(
            [self.beta_1, self.beta_2, self.epsilon],
            i32::try_from(time).unwrap_or(i32::MAX),
            lr,
            self.weight_decay,
        );
        let [tensor, moment_1, moment_2] =
            kernels::adam_step(tensor, grad, moment_1, moment_2, step);
        let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::Linear;
    use burn::optim::decay::WeightDecayConfig;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::TensorData;

    fn device() -> Device {
        Device::flex().autodiff()
    }

    /// A device without the fused kernel: Burn's operations do the update.
    fn ndarray() -> Device {
        #[allow(deprecated)]
        Device::ndarray().autodiff()
    }

    /// A small layer, the same for every optimizer: fixed weights and a zero
    /// bias, built without `LinearConfig::init`, so nothing is drawn from
    /// the backend's random generator (shared by the whole process).
    fn layer_on(device: &Device) -> Linear {
        let start: Vec<f32> = (0..15).map(|i| (i as f32 * 0.7).sin()).collect();
        let start = Tensor::<2>::from_data(TensorData::new(start, [5, 3]), device);
        Linear {
            weight: Param::from_tensor(start),
            bias: Some(Param::from_tensor(Tensor::<1>::zeros([3], device))),
        }
    }

    fn layer() -> Linear {
        layer_on(&device())
    }

    /// Adam steps `steps` of a least-squares fit with `optim`.
    fn train(
        mut layer: Linear,
        mut optim: ModuleOptimizer,
        steps: std::ops::Range<usize>,
    ) -> (Linear, ModuleOptimizer) {
        for step in steps {
            let x = Tensor::<2>::ones([4, 5], &layer.weight.device()).mul_scalar(step as f32 + 1.0);
            let loss = layer.forward(x).powi_scalar(2).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &layer);
            layer = optim.step(1e-2, layer, grads);
        }
        (layer, optim)
    }

    fn burn_adam(decay: Option<f32>) -> ModuleOptimizer {
        AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay.map(WeightDecayConfig::new))
            .init()
    }

    fn assert_same(a: &Linear, b: &Linear) {
        for (a, b) in weights(a).iter().zip(weights(b)) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    fn weights(layer: &Linear) -> Vec<f32> {
        layer.weight.val().into_data().try_to_vec().unwrap()
    }

    #[test]
    fn fused_adam_takes_burns_steps() {
        for device in [device(), ndarray()] {
            for decay in [None, Some(0.1)] {
                let (burn, _) = train(layer_on(&device), burn_adam(decay), 0..4);
                let fused = FusedAdam::new(1e-8, decay).init();
                let (fused, _) = train(layer_on(&device), fused, 0..4);
                assert_same(&fused, &burn);
            }
        }
    }

    /// A run saved with the fused Adam resumes under Burn's, and the other
    /// way round: the state records are the same.
    #[test]
    fn adam_records_carry_over_both_ways() {
        let (fused_layer, fused) = train(layer(), FusedAdam::new(1e-8, None).init(), 0..2);
        let (burn_layer, burn) = train(layer(), burn_adam(None), 0..2);
        let burn_from_fused = burn_adam(None).load_record(fused.to_record());
        let fused_from_burn = FusedAdam::new(1e-8, None)
            .init()
            .load_record(burn.to_record());
        let (expected, _) = train(burn_layer.clone(), burn, 2..4);
        let (a, _) = train(fused_layer, burn_from_fused, 2..4);
        let (b, _) = train(burn_layer, fused_from_burn, 2..4);
        assert_same(&a, &expected);
        assert_same(&b, &expected);
    }
}
