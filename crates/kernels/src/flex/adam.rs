//! Adam's update, value by value, in one pass over each tensor.

use std::mem::MaybeUninit;

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::DType;

use super::parallel::{ELEMENTWISE_CHUNK, par_fill_n};
use super::simd::widest;
use super::storage::{contiguous, tensor, values};
use crate::adam::each_tensor;
use crate::{AdamState, AdamStep, FastAdam, stock};

/// On the CPU a tensor's update is one pass over its values, spread over
/// the cores; the tensors of a list go one after the other.
impl FastAdam for Flex {
    fn adam_steps_fast(
        params: Vec<FlexTensor>,
        grads: Vec<FlexTensor>,
        moment_1: Vec<FlexTensor>,
        moment_2: Vec<FlexTensor>,
        adam: AdamStep,
    ) -> Vec<FlexTensor> {
        let lists = [params, grads, moment_1, moment_2];
        each_tensor::<Flex>(lists, |state, grad| step(state, grad, adam))
    }
}

fn step(state: AdamState<Flex>, grad: FlexTensor, step: AdamStep) -> AdamState<Flex> {
    let shape = state.param.shape();
    let tensors = [&state.param, &grad, &state.moment_1, &state.moment_2];
    let fits = tensors
        .iter()
        .all(|t| t.dtype() == DType::F32 && t.shape() == shape);
    if !fits {
        return stock::adam_step::<Flex>(state, grad, step);
    }
    let inputs = [state.param, grad, state.moment_1, state.moment_2].map(contiguous);
    let [param, moment_1, moment_2] =
        update(inputs.each_ref().map(values), step).map(|v| tensor(v, shape.clone()));
    AdamState {
        param,
        moment_1,
        moment_2,
    }
}

/// Adam's update value by value, each operation in the order of Burn's
/// `Adam` (see `stock::adam_step`), so the results are the same to the bit.
fn update([param, grad, moment_1, moment_2]: [&[f32]; 4], step: AdamStep) -> [Vec<f32>; 3] {
    let fill = |_: &mut (), index: usize, outs: [&mut [MaybeUninit<f32>]; 3]| {
        let at = index * ELEMENTWISE_CHUNK;
        let inputs = [param, grad, moment_1, moment_2].map(|v| &v[at..][..outs[0].len()]);
        // One loop per case, so the penalty's test is not inside the loop
        // and the compiler can vectorise it.
        widest(
            #[inline(always)]
            || match step.weight_decay {
                Some(penalty) => update_chunk(inputs, outs, step, |p, g| p * penalty + g),
                None => update_chunk(inputs, outs, step, |_, g| g),
            },
        )
    };
    // SAFETY: every value of each chunk is written, in each output.
    unsafe { par_fill_n(param.len(), ELEMENTWISE_CHUNK, 1, || (), fill) }
}

/// One chunk of [`update`], with `gradient(param, grad)` the penalised
/// gradient. Zipped iterators rather than indices: no bounds checks, so
/// the loop is vectorised.
#[inline(always)]
fn update_chunk(
    [param, grad, moment_1, moment_2]: [&[f32]; 4],
    [p_out, m_out, v_out]: [&mut [MaybeUninit<f32>]; 3],
    step: AdamStep,
    gradient: impl Fn(f32, f32) -> f32,
) {
    let inputs = param.iter().zip(grad).zip(moment_1).zip(moment_2);
    let outputs = p_out.iter_mut().zip(m_out.iter_mut()).zip(v_out.iter_mut());
    for ((((&p, &g), &m), &v), ((p_out, m_out), v_out)) in inputs.zip(outputs) {
        let g = gradient(p, g);
        let m = m * step.beta_1 + g * (1.0 - step.beta_1);
        let v = v * step.beta_2 + (g * g) * (1.0 - step.beta_2);
        let update = (m * step.moment_scale) / (v.sqrt() + step.epsilon);
        p_out.write(p - update * step.learning_rate);
        m_out.write(m);
        v_out.write(v);
    }
}
