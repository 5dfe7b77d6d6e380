//! Saving and restoring an [`Adam`]'s moments through Burn's `Learner`,
//! which checkpoints the `ModuleOptimizer` it holds (`to_record`, when an
//! epoch ends, on the training thread) and loads a checkpoint into it
//! (`load_record`). The `ModuleOptimizer` made here holds, for each
//! parameter, only where its moments are in the Adam's table; its records
//! are those of Burn's `Adam` (`AdamState`, flattened by Burn's own code).

use burn::module::{Module, ModuleVisitor, Param, ParamGroup, ParamId};
use burn::optim::{
    AdamState, AdaptiveMomentumState, DynOptimizer, DynState, GradientsParams, LearningRate,
    ModuleOptimizer, Optimizer, OptimizerRecord, RecordState, SgdConfig, StateSink, StateSource,
};
use burn::prelude::*;
use burn::tensor::kind::BridgeTensor;

use super::rank::with_rank;
use super::{Adam, ParamMoments};

impl Adam {
    /// The `ModuleOptimizer` for Burn's `Learner` that trains `module` with
    /// this Adam: its checkpoint records are this Adam's moments (every
    /// parameter's from the first epoch on), and loading one restores them.
    ///
    /// Burn's `ModuleOptimizer` learns a parameter only from a step or a
    /// record, so it is made from a record of Adam's state before the first
    /// step (time 0, zero moments) for each trainable parameter of `module`.
    pub fn record_keeper<M: Module>(&self, module: &M) -> ModuleOptimizer {
        // Loading that record sets each parameter's moments: those this
        // Adam already has are put back after it.
        let kept = self.moments.lock().clone();
        // A `ModuleOptimizer` is built from a per-tensor `Optimizer`; the
        // keeper, which reaches this Adam, is the group of every parameter,
        // so that first optimizer is never asked for anything.
        let keeper = SgdConfig::new()
            .init()
            .with_group(ParamGroup::all(), Keeper { adam: self.clone() }, None)
            .load_record(first_record(module));
        self.moments.lock().extend(kept);
        keeper
    }
}

/// Where a parameter's moments are: its entry in the Adam's table.
#[derive(Clone, Copy)]
struct Slot(ParamId);

/// The `ModuleOptimizer`'s view of an [`Adam`].
struct Keeper {
    adam: Adam,
}

impl DynOptimizer for Keeper {
    /// One tensor's step, for a caller that steps the `ModuleOptimizer`
    /// itself (the `Learner` steps the Adam instead, all tensors at once).
    fn step_dyn(
        &self,
        rank: usize,
        lr: LearningRate,
        tensor: BridgeTensor,
        grad: BridgeTensor,
        state: Option<DynState>,
    ) -> (BridgeTensor, Option<DynState>) {
        let Slot(id) = *state
            .as_ref()
            .expect("the Adam record keeper knows every parameter of the module it was made for")
            .downcast_ref::<Slot>();
        let mut moments = self.adam.moments.lock();
        let value = with_rank!(rank, D => {
            let [value, grad] = [tensor, grad].map(Tensor::<D>::from_bridge);
            let (time, update) = self.adam.update_of(&moments, id, value, grad, lr);
            let result = kernels::adam_steps(vec![update]).remove(0);
            let value = super::keep(&mut moments, id, time, result);
            Tensor::<D>::from_dispatch(value).into_bridge()
        }, panic!("a parameter of rank {rank}: Adam's record keeper takes ranks 1 to 6"));
        (value, state)
    }

    /// The moments follow their parameter's gradient at the next step.
    fn to_device_dyn(&self, state: DynState, _device: &Device) -> DynState {
        state
    }

    fn state_flatten(&self, prefix: &str, state: &DynState, out: &mut StateSink) {
        let Slot(id) = *state.downcast_ref::<Slot>();
        let moments = self.adam.moments.lock();
        let Some(moments) = moments.get(&id) else {
            return;
        };
        with_rank!(state.rank(), D => burn_state::<D>(moments).state_flatten(prefix, out), ())
    }

    fn state_unflatten(
        &self,
        rank: usize,
        prefix: &str,
        src: &mut StateSource,
        device: &Device,
    ) -> Option<DynState> {
        let id = ParamId::from(prefix.parse::<u64>().ok()?);
        let moments = with_rank!(rank, D => {
            let AdamState { momentum } = AdamState::<D>::state_unflatten(prefix, src, device)?;
            ParamMoments {
                time: momentum.time,
                first: momentum.moment_1.into_dispatch(),
                second: momentum.moment_2.into_dispatch(),
            }
        }, return None);
        self.adam.moments.lock().insert(id, moments);
        Some(DynState::create(Slot(id), rank))
    }
}

/// A parameter's moments as Burn's `Adam` keeps them.
fn burn_state<const D: usize>(moments: &ParamMoments) -> AdamState<D> {
    let tensor = |t: &burn::backend::DispatchTensor| Tensor::<D>::from_dispatch(t.clone());
    let momentum = AdaptiveMomentumState::new(
        moments.time,
        tensor(&moments.first),
        tensor(&moments.second),
    );
    AdamState::new(momentum)
}

/// The record of Burn's `Adam` before its first step over `module`: time 0
/// and zero moments for every trainable parameter, written by Burn's own
/// `ModuleOptimizer` (so it has that record's layout).
fn first_record<M: Module>(module: &M) -> OptimizerRecord {
    let mut zeros = ZeroGradients(GradientsParams::new());
    module.visit(&mut zeros);
    let mut optim = ModuleOptimizer::from(BeforeFirstStep);
    let _unchanged = optim.step(0.0, module.clone(), zeros.0);
    optim.to_record()
}

/// A zero gradient for each trainable parameter (not for buffers such as
/// BatchNorm's running statistics, which no optimizer steps).
struct ZeroGradients(GradientsParams);

impl ModuleVisitor for ZeroGradients {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if value.is_require_grad() {
            self.0.register(param.id, value.inner().zeros_like());
        }
    }
}

/// Leaves each tensor as it is and gives it Adam's state before its first
/// step.
#[derive(Clone)]
struct BeforeFirstStep;

impl Optimizer for BeforeFirstStep {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        _lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        _state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let momentum = AdaptiveMomentumState::new(0, grad.zeros_like(), grad.zeros_like());
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(state: Self::State<D>, _device: &Device) -> Self::State<D> {
        state
    }
}
