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

/// Each tensor's `[param, grad, moment_1, moment_2]` of the four lists of
/// a [`FastAdam`] call updated by `update`, the results as the call returns
/// them: every new value, then every first moment, then every second
/// moment.
pub(crate) fn each_tensor<B: Backend>(
    lists: [Vec<FloatTensor<B>>; 4],
    mut update: impl FnMut(AdamState<B>, FloatTensor<B>) -> AdamState<B>,
) -> Vec<FloatTensor<B>> {
    let results = per_tensor(lists)
        .into_iter()
        .map(|[param, grad, moment_1, moment_2]| {
            let state = AdamState {
                param,
                moment_1,
                moment_2,
            };
            let state = update(state, grad);
            [state.param, state.moment_1, state.moment_2]
        });
    transposed(results).into_iter().flatten().collect()
}

/// `N` lists of one length as one `[T; N]` per position.
pub(crate) fn per_tensor<T, const N: usize>(lists: [Vec<T>; N]) -> Vec<[T; N]> {
    let count = lists.first().map_or(0, Vec::len);
    let mut lists = lists.map(Vec::into_iter);
    let next = |list: &mut std::vec::IntoIter<T>| list.next().expect("lists of one length");
    (0..count).map(|_| lists.each_mut().map(next)).collect()
}

/// One `[T; N]` per position as `N` lists: the inverse of [`per_tensor`].
pub(crate) fn transposed<T, const N: usize>(
    items: impl IntoIterator<Item = [T; N]>,
) -> [Vec<T>; N] {
    let mut lists: [Vec<T>; N] = std::array::from_fn(|_| Vec::new());
    for item in items {
        for (list, value) in lists.iter_mut().zip(item) {
            list.push(value);
        }
    }
    lists
}
