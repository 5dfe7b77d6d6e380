//! [`FastAdam`], Adam over a list of tensors, through Burn's dispatch
//! layer (to the GPU, the flex device, or Burn's operations elsewhere) and
//! its fusion layer (recorded on the GPU's stream, then one launch, or one
//! per group that fits the adapter's limit on buffers per kernel).
//!
//! Burn's `#[backend_extension]` macro takes tensors, options of tensors
//! and structs of them, but not a list of tensors (an argument of type
//! `Vec<FloatTensor<Self>>` is passed through unconverted:
//! burn-backend-extension 0.22.1, `extension.rs` lines 184-200), so the
//! dispatch to the GPU backend and the fused (recorded) form of
//! [`FastAdam`] are written out here.

use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::fusion::custom::{
    CustomOpIr, HandleContainer, OperationFn, OperationIr, StreamId, TensorIr,
};
use burn::backend::fusion::{Fusion, FusionBackend, FusionRuntime};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, BackendTensor, Cube, Dispatch, DispatchTensor, DispatchTensorKind};

use super::{AdamState, AdamStep, AdamUpdate, each_tensor, per_tensor, transposed};

/// Adam over a list of parameter tensors (of one device) at once.
pub trait FastAdam: Backend {
    /// The new values of `params`, then their new first moments, then their
    /// new second moments (`3 * params.len()` tensors), for one `step` of
    /// Adam with gradients `grads` and moments `moment_1` and `moment_2`
    /// (one of each per parameter, of its shape).
    fn adam_steps_fast(
        params: Vec<FloatTensor<Self>>,
        grads: Vec<FloatTensor<Self>>,
        moment_1: Vec<FloatTensor<Self>>,
        moment_2: Vec<FloatTensor<Self>>,
        step: AdamStep,
    ) -> Vec<FloatTensor<Self>>;
}

type Handles<B> =
    HandleContainer<<<B as FusionBackend>::FusionRuntime as FusionRuntime>::FusionHandle>;

impl<B: FusionBackend + FastAdam> FastAdam for Fusion<B> {
    fn adam_steps_fast(
        params: Vec<FloatTensor<Self>>,
        grads: Vec<FloatTensor<Self>>,
        moment_1: Vec<FloatTensor<Self>>,
        moment_2: Vec<FloatTensor<Self>>,
        step: AdamStep,
    ) -> Vec<FloatTensor<Self>> {
        let count = params.len();
        let Some(first) = params.first() else {
            return Vec::new();
        };
        let client = first.client.clone();
        let outputs: Vec<TensorIr> = [&params, &params, &params]
            .into_iter()
            .flatten()
            .map(|p| TensorIr::uninit(client.create_empty_handle(), p.shape.clone(), p.dtype))
            .collect();
        let inputs: Vec<TensorIr> = [params, grads, moment_1, moment_2]
            .into_iter()
            .flatten()
            .map(|t| t.into_ir())
            .collect();
        let desc = CustomOpIr {
            id: "adam_steps_fast".into(),
            inputs: inputs.clone(),
            outputs: outputs.clone(),
            scalars: Vec::new(),
        };
        let run = OperationFn(move |handles: &mut Handles<B>| {
            let mut lists = inputs
                .chunks(count)
                .map(|list| {
                    list.iter()
                        .map(|ir| handles.get_float_tensor::<B>(ir))
                        .collect()
                })
                .collect::<Vec<Vec<_>>>()
                .into_iter();
            let mut next = || lists.next().expect("four lists of inputs");
            let (p, g, m1, m2) = (next(), next(), next(), next());
            let results = B::adam_steps_fast(p, g, m1, m2, step);
            for (ir, tensor) in outputs.iter().zip(results) {
                handles.register_float_tensor::<B>(&ir.id, tensor);
            }
            Ok(())
        });
        client.register(StreamId::current(), OperationIr::Custom(desc), run)
    }
}

/// To the backend the list is on (the GPU's or flex's kernel), or Burn's
/// operations on any other.
impl FastAdam for Dispatch {
    fn adam_steps_fast(
        params: Vec<DispatchTensor>,
        grads: Vec<DispatchTensor>,
        moment_1: Vec<DispatchTensor>,
        moment_2: Vec<DispatchTensor>,
        step: AdamStep,
    ) -> Vec<DispatchTensor> {
        let Some(first) = params.first() else {
            return Vec::new();
        };
        let autodiff = first.autodiff;
        let on_gpu = matches!(first.kind, DispatchTensorKind::Cube(_));
        let on_flex = matches!(first.kind, DispatchTensorKind::Flex(_));
        let lists = [params, grads, moment_1, moment_2];
        let kinds: Vec<DispatchTensorKind> = if on_gpu {
            let [p, g, m1, m2] = lists.map(|list| list.into_iter().map(cube_tensor).collect());
            let results = Cube::adam_steps_fast(p, g, m1, m2, step).into_iter();
            results
                .map(|t| DispatchTensorKind::Cube(BackendTensor::Float(t)))
                .collect()
        } else if on_flex {
            let [p, g, m1, m2] = lists.map(|list| list.into_iter().map(flex_tensor).collect());
            let results = Flex::adam_steps_fast(p, g, m1, m2, step).into_iter();
            results
                .map(|t| DispatchTensorKind::Flex(BackendTensor::Float(t)))
                .collect()
        } else {
            return stock_steps(lists, step);
        };
        let tensor = |kind| DispatchTensor { kind, autodiff };
        kinds.into_iter().map(tensor).collect()
    }
}

/// Burn's operations, tensor by tensor (a backend without a kernel).
fn stock_steps(lists: [Vec<DispatchTensor>; 4], step: AdamStep) -> Vec<DispatchTensor> {
    each_tensor::<Dispatch>(lists, |state, grad| {
        crate::stock::adam_step::<Dispatch>(state, grad, step)
    })
}

/// The GPU tensor behind `tensor`.
///
/// # Panics
///
/// If `tensor` is on another backend: a list is on one device.
fn cube_tensor(tensor: DispatchTensor) -> FloatTensor<Cube> {
    match tensor.kind {
        DispatchTensorKind::Cube(tensor) => tensor.float(),
        _ => panic!("adam_steps_fast: a list's tensors are all on one (GPU) device"),
    }
}

/// The flex tensor behind `tensor`.
///
/// # Panics
///
/// If `tensor` is on another backend: a list is on one device.
fn flex_tensor(tensor: DispatchTensor) -> FlexTensor {
    match tensor.kind {
        DispatchTensorKind::Flex(tensor) => tensor.float(),
        _ => panic!("adam_steps_fast: a list's tensors are all on one (flex) device"),
    }
}

/// One Adam update of each tensor of `updates` (all on one device), all
/// with one `step`, in one [`FastAdam`] call.
pub(super) fn adam_steps_of(updates: Vec<AdamUpdate>, step: AdamStep) -> Vec<AdamState<Dispatch>> {
    let count = updates.len();
    let tensors = updates
        .into_iter()
        .map(|u| [u.param, u.grad, u.moment_1, u.moment_2]);
    let [p, g, m1, m2] = transposed(tensors);
    let mut results = Dispatch::adam_steps_fast(p, g, m1, m2, step).into_iter();
    let lists: [Vec<_>; 3] = std::array::from_fn(|_| results.by_ref().take(count).collect());
    let states = per_tensor(lists).into_iter();
    states
        .map(|[param, moment_1, moment_2]| AdamState {
            param,
            moment_1,
            moment_2,
        })
        .collect()
}
