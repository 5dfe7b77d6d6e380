//! Adam on the GPU: any number of parameter tensors updated by one kernel,
//! one unit per value, as Burn's `Adam` computes each value (the formula
//! and order of `stock::adam_step`).

use burn::backend::TensorMetadata;
use burn::backend::tensor::FloatTensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::{elementwise_count, empty};
use crate::adam::{each_tensor, per_tensor, transposed};
use crate::{AdamStep, FastAdam};

/// Where logical value `index` (row-major) of `t` sits, whatever its strides.
#[cube]
fn offset_of(t: &Tensor<f32>, index: usize) -> usize {
    let mut offset = 0usize;
    let mut rest = index;
    let mut dim = t.rank();
    while dim > 0 {
        dim -= 1;
        offset += (rest % t.shape(dim)) * t.stride(dim);
        rest /= t.shape(dim);
    }
    offset
}

/// Adam's numbers for one step; `1 - beta` worked out on the host as
/// Burn's `Adam` does.
#[derive(CubeLaunch, CubeType, Clone, Copy)]
pub(crate) struct Coefficients {
    beta_1: f32,
    rest_1: f32,
    beta_2: f32,
    rest_2: f32,
    moment_scale: f32,
    epsilon: f32,
    learning_rate: f32,
    decay: f32,
}

/// Unit `ABSOLUTE_POS` updates value `ABSOLUTE_POS - start` of the tensor
/// whose range of the concatenated values holds it. Outputs are contiguous.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn adam_kernel(
    params: &Sequence<OwnedTensor<f32>>,
    grads: &Sequence<OwnedTensor<f32>>,
    moments_1: &Sequence<OwnedTensor<f32>>,
    moments_2: &Sequence<OwnedTensor<f32>>,
    new_params: &mut Sequence<OwnedTensor<f32>>,
    new_moments_1: &mut Sequence<OwnedTensor<f32>>,
    new_moments_2: &mut Sequence<OwnedTensor<f32>>,
    c: Coefficients,
    #[comptime] decayed: bool,
) {
    let index = ABSOLUTE_POS;
    let mut start = 0usize;
    #[unroll]
    for k in 0..params.len() {
        let len = new_params.index(k).len();
        if index >= start && index < start + len {
            let i = index - start;
            let param = params.index(k);
            let p = param[offset_of(param, i)];
            let grad = grads.index(k);
            let mut g = grad[offset_of(grad, i)];
            if comptime![decayed] {
                g += p * c.decay;
            }
            let m1 = moments_1.index(k);
            let m2 = moments_2.index(k);
            let m = m1[offset_of(m1, i)] * c.beta_1 + g * c.rest_1;
            let v = m2[offset_of(m2, i)] * c.beta_2 + (g * g) * c.rest_2;
            let update = (m * c.moment_scale) / (f32::sqrt(v) + c.epsilon);
            new_params.index_mut(k)[i] = p - update * c.learning_rate;
            new_moments_1.index_mut(k)[i] = m;
            new_moments_2.index_mut(k)[i] = v;
        }
        start += len;
    }
}

/// Buffers one tensor's update binds: four inputs, three outputs.
const BINDINGS_PER_TENSOR: usize = 7;

/// The updates of `updates` (`[param, grad, moment_1, moment_2]` each), in
/// launches of as many tensors as the adapter binds at once.
fn adam(updates: Vec<[CubeTensor; 4]>, step: AdamStep) -> Vec<[CubeTensor; 3]> {
    let Some(first) = updates.first() else {
        return Vec::new();
    };
    let bindings = first[0].client.properties().hardware.max_bindings as usize;
    // Two buffers are the runtime's own (scalars and tensor metadata).
    let per_launch = (bindings.saturating_sub(2) / BINDINGS_PER_TENSOR).max(1);
    let mut updates = updates.into_iter().peekable();
    let mut out = Vec::new();
    while updates.peek().is_some() {
        out.extend(launch(updates.by_ref().take(per_launch).collect(), step));
    }
    out
}

/// One launch over `updates`.
fn launch(updates: Vec<[CubeTensor; 4]>, step: AdamStep) -> Vec<[CubeTensor; 3]> {
    let outputs: Vec<[CubeTensor; 3]> = updates
        .iter()
        .map(|[p, ..]| std::array::from_fn(|_| empty(p, p.shape())))
        .collect();
    let total = updates.iter().map(|[p, ..]| p.shape().num_elements()).sum();
    let client = updates[0][0].client.clone();
    let mut inputs: [SequenceArg<OwnedTensor<f32>>; 4] = Default::default();
    for update in updates {
        for (list, tensor) in inputs.iter_mut().zip(update) {
            list.push(tensor.into_tensor_arg());
        }
    }
    let mut results: [SequenceArg<OwnedTensor<f32>>; 3] = Default::default();
    for output in &outputs {
        for (list, tensor) in results.iter_mut().zip(output) {
            list.push(tensor.clone().into_tensor_arg());
        }
    }
    let [p, g, m1, m2] = inputs;
    let [np, nm1, nm2] = results;
    let (count, dim) = elementwise_count(&client, total);
    adam_kernel::launch(
        &client,
        count,
        dim,
        p,
        g,
        m1,
        m2,
        np,
        nm1,
        nm2,
        coefficients(step),
        step.weight_decay.is_some(),
    );
    outputs
}

fn coefficients(step: AdamStep) -> CoefficientsLaunch {
    CoefficientsLaunch::new(
        step.beta_1,
        1.0 - step.beta_1,
        step.beta_2,
        1.0 - step.beta_2,
        step.moment_scale,
        step.epsilon,
        step.learning_rate,
        step.weight_decay.unwrap_or(0.0),
    )
}

impl FastAdam for CubeBackend {
    fn adam_steps_fast(
        params: Vec<FloatTensor<Self>>,
        grads: Vec<FloatTensor<Self>>,
        moment_1: Vec<FloatTensor<Self>>,
        moment_2: Vec<FloatTensor<Self>>,
        step: AdamStep,
    ) -> Vec<FloatTensor<Self>> {
        let lists = [params, grads, moment_1, moment_2];
        // The kernel takes f32 throughout; any other dtype, Burn's operations.
        if !lists.iter().flatten().all(super::f32_input) {
            return each_tensor::<Self>(lists, |state, grad| {
                crate::stock::adam_step::<Self>(state, grad, step)
            });
        }
        let results = adam(per_tensor(lists), step);
        transposed(results).into_iter().flatten().collect()
    }
}
