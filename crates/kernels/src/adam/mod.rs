//! Adam's update of many parameter tensors in one call ([`adam_steps`]),
//! through one trait, [`FastAdam`]: on a GPU one kernel launch for all of
//! them (`cube/adam.rs`, recorded by Burn's fusion in `fusion.rs`), on the
//! flex device one pass over each tensor's values (`flex/adam.rs`),
//! elsewhere Burn's operations (`stock.rs`); each with the formula and
//! order of Burn's `Adam`, so the numbers are Burn's.

mod fusion;

pub use fusion::FastAdam;

use burn::backend::{Backend, Dispatch, DispatchTensor, TensorMetadata, tensor::FloatTensor};

/// The numbers of one Adam update. Per value, with `g` the gradient plus
/// `weight_decay * param`:
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

/// One parameter tensor's Adam update, its tensors of any rank as Burn
/// dispatches them.
#[derive(Clone, Debug)]
pub struct AdamUpdate {
    pub param: DispatchTensor,
    pub grad: DispatchTensor,
    pub moment_1: DispatchTensor,
    pub moment_2: DispatchTensor,
    pub step: AdamStep,
}

/// A parameter tensor with Adam's first and second moments of its gradient:
/// what an update gives back.
#[derive(Clone, Debug)]
pub struct AdamState<B: Backend> {
    pub param: FloatTensor<B>,
    pub moment_1: FloatTensor<B>,
    pub moment_2: FloatTensor<B>,
}

/// Adam's update of every tensor of `updates`, the results in their order:
/// one [`FastAdam`] call per run of consecutive tensors at the same step on
/// the same device (normally all of a module's tensors: one call; on a GPU,
/// one launch, or one per group of tensors the adapter binds at once).
pub fn adam_steps(updates: Vec<AdamUpdate>) -> Vec<AdamState<Dispatch>> {
    let mut results = Vec::with_capacity(updates.len());
    let mut updates = updates.into_iter().peekable();
    while let Some(first) = updates.next() {
        let (step, device) = (first.step, first.param.device());
        let mut group = vec![first];
        while let Some(update) = updates.next_if(|u| u.step == step && u.param.device() == device) {
            group.push(update);
        }
        results.extend(fusion::adam_steps_of(group, step));
    }
    results
}

/// The four lists of a [`FastAdam`] call as one `[param, grad, moment_1,
/// moment_2]` per tensor.
pub(crate) fn per_tensor<T>([params, grads, moment_1, moment_2]: [Vec<T>; 4]) -> Vec<[T; 4]> {
    let moments = moment_1.into_iter().zip(moment_2);
    let tensors = params.into_iter().zip(grads).zip(moments);
    tensors.map(|((p, g), (m1, m2))| [p, g, m1, m2]).collect()
}

/// Each tensor's `[param, moment_1, moment_2]` as a [`FastAdam`] call
/// returns them: every new value, then every first moment, then every
/// second moment.
pub(crate) fn as_lists<T>(results: impl IntoIterator<Item = [T; 3]>) -> Vec<T> {
    let mut lists: [Vec<T>; 3] = Default::default();
    for result in results {
        for (list, tensor) in lists.iter_mut().zip(result) {
            list.push(tensor);
        }
    }
    lists.into_iter().flatten().collect()
}
