//! Adam's update of one parameter tensor, in one pass.

use burn::backend::{Backend, Dispatch, ExtensionType, TensorMetadata, tensor::FloatTensor};
use burn::tensor::{Device, Tensor};

use crate::adam_many::{Update, Updated};
use crate::{FastLayers, accelerated, stock};

/// The numbers of one Adam update, for [`adam_step`]. Per value, with `g`
/// the gradient plus `weight_decay * param`:
///
/// ```text
/// m' = beta_1 * m + (1 - beta_1) * g
/// v' = beta_2 * v + (1 - beta_2) * g^2
/// param' = param - learning_rate * moment_scale * m' / (sqrt(v') + epsilon)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub beta_1: f32,
    pub beta_2: f32,
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)` at step `t` (from 1): the bias
    /// corrections of both moments.
    pub moment_scale: f32,
    /// Adam's epsilon times `sqrt(1 - beta_2^t)`.
    pub epsilon: f32,
    pub learning_rate: f32,
    /// The L2 penalty added to the gradient, if any.
    pub weight_decay: Option<f32>,
}

impl AdamStep {
    /// Step `t` (from 1) of Adam with these hyper-parameters, with the bias
    /// corrections worked out in `f32`, as Burn's `Adam` does.
    pub fn new(
        [beta_1, beta_2, epsilon]: [f32; 3],
        t: i32,
        learning_rate: f64,
        weight_decay: Option<f32>,
    ) -> Self {
        let correction_2 = (1.0 - beta_2.powi(t)).sqrt();
        AdamStep {
            beta_1,
            beta_2,
            moment_scale: correction_2 / (1.0 - beta_1.powi(t)),
            epsilon: epsilon * correction_2,
            learning_rate: learning_rate as f32,
            weight_decay,
        }
    }
}

/// A parameter tensor with Adam's first and second moments of its gradient.
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct AdamState<B: Backend> {
    pub param: FloatTensor<B>,
    pub moment_1: FloatTensor<B>,
    pub moment_2: FloatTensor<B>,
}

/// One Adam update of `param`: the new parameter and moments, in one pass
/// on the flex device or a GPU (Burn's `Adam` runs a dozen whole-tensor
/// operations). Inside [`adam_batch::collect`](crate::adam_batch::collect)
/// and its `install`, the update is recorded, then handed back computed with
/// the others.
pub fn adam_step<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    moment_1: Tensor<D>,
    moment_2: Tensor<D>,
    step: AdamStep,
) -> [Tensor<D>; 3] {
    let update = [param, grad, moment_1, moment_2].map(Tensor::into_dispatch);
    let updated =
        crate::adam_batch::intercept(&update, step).unwrap_or_else(|| one_step(update, step));
    updated.map(Tensor::from_dispatch)
}

/// One update, by the kernel where there is one, else by Burn's operations.
pub(crate) fn one_step(update: Update, step: AdamStep) -> Updated {
    let [param, grad, moment_1, moment_2] = update;
    let fused = accelerated(&Device::new(grad.device()), grad.dtype());
    let state = AdamState {
        param,
        moment_1,
        moment_2,
    };
    let state = match fused {
        true => Dispatch::adam_step_fast(state, grad, step),
        false => stock::adam_step::<Dispatch>(state, grad, step),
    };
    [state.param, state.moment_1, state.moment_2]
}
