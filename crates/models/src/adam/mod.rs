//! Adam as one multi-tensor optimizer: a step updates all of a module's
//! parameters in one call to `kernels::adam_steps` (one kernel launch on a
//! GPU, one pass per tensor on the CPU), with the numbers of Burn's `Adam`.
//!
//! Burn's `ModuleOptimizer` calls an optimizer once per tensor and keeps
//! each tensor's state out of its reach, so this Adam keeps its moments
//! itself. Burn's `Learner` still saves and restores them, through the
//! `ModuleOptimizer` that [`Adam::record_keeper`] makes (`record.rs`), in
//! the records of Burn's own `Adam`: a run saved under either resumes under
//! the other.

mod rank;
mod record;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use burn::backend::{Dispatch, DispatchTensor};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradAdaptor, LearningRate};
use burn::prelude::*;
use kernels::{AdamState, AdamStep, AdamUpdate};

/// Adam with PyTorch's (and Burn's) betas, its epsilon and an optional L2
/// penalty; clones share one set of moments.
#[derive(Clone, Debug)]
pub struct Adam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// The L2 penalty added to each gradient.
    weight_decay: Option<f32>,
    moments: Moments,
}

/// Each parameter's moments, by parameter.
#[derive(Clone, Debug, Default)]
struct Moments(Arc<Mutex<HashMap<ParamId, ParamMoments>>>);

/// One parameter's Adam state: the steps it has taken and the moments of
/// its gradient, of the parameter's shape.
#[derive(Clone, Debug)]
struct ParamMoments {
    time: usize,
    first: DispatchTensor,
    second: DispatchTensor,
}

impl Moments {
    fn lock(&self) -> MutexGuard<'_, HashMap<ParamId, ParamMoments>> {
        // A step that panicked leaves whole entries: each is replaced at once.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Adam {
    pub fn new(epsilon: f32, weight_decay: Option<f32>) -> Self {
        Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon,
            weight_decay,
            moments: Moments::default(),
        }
    }

    /// One Adam step of every parameter of `module` that has a gradient in
    /// `grads` (one device's, or several devices' to be added up), at the
    /// learning rate `lr` gives it: the module with the new values.
    pub fn step<M: Module>(
        &self,
        lr: &ModuleLearningRate,
        module: M,
        grads: impl Into<GradAdaptor>,
    ) -> M {
        let mut moments = self.moments.lock();
        let mut gather = Gather {
            adam: self,
            lr,
            grads: grads.into(),
            moments: &moments,
            path: Vec::new(),
            ids: Vec::new(),
            updates: Vec::new(),
        };
        module.visit(&mut gather);
        let (ids, updates) = (gather.ids, gather.updates);
        let results = kernels::adam_steps(updates);
        let mut values = HashMap::with_capacity(ids.len());
        for ((id, time), result) in ids.into_iter().zip(results) {
            values.insert(id, keep(&mut moments, id, time, result));
        }
        module.map(&mut Install { values })
    }

    /// The update of parameter `id` (its value and gradient on one device,
    /// no autodiff graph) at learning rate `lr`, with its moments moved to
    /// that device; and the step it is (from 1).
    fn update_of<const D: usize>(
        &self,
        moments: &HashMap<ParamId, ParamMoments>,
        id: ParamId,
        value: Tensor<D>,
        grad: Tensor<D>,
        lr: LearningRate,
    ) -> (usize, AdamUpdate) {
        let device = grad.device();
        let on_device =
            |t: &DispatchTensor| Tensor::<D>::from_dispatch(t.clone()).to_device(&device);
        let (time, first, second) = match moments.get(&id) {
            Some(m) => (m.time, on_device(&m.first), on_device(&m.second)),
            // Zero moments at the first step give Burn's first-step formula.
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let update = AdamUpdate {
            param: value.into_dispatch(),
            grad: grad.into_dispatch(),
            moment_1: first.into_dispatch(),
            moment_2: second.into_dispatch(),
            step: self.step_numbers(time + 1, lr),
        };
        (time + 1, update)
    }

    /// Step `time` (from 1) at learning rate `lr`.
    fn step_numbers(&self, time: usize, lr: LearningRate) -> AdamStep {
        AdamStep::new(
            [self.beta_1, self.beta_2, self.epsilon],
            i32::try_from(time).unwrap_or(i32::MAX),
            lr,
            self.weight_decay,
        )
    }

    /// The values of every moment this Adam holds, first and second of each
    /// parameter (for the benchmark that counts subnormal floats in them).
    pub fn moment_values(&self) -> Vec<Vec<f32>> {
        let moments = self.moments.lock();
        let tensors = moments.values().flat_map(|m| [&m.first, &m.second]);
        tensors.map(|t| rank::values(t.clone())).collect()
    }
}

/// Keeps the moments of parameter `id`'s update `result`, its step `time`:
/// its new value.
fn keep(
    moments: &mut HashMap<ParamId, ParamMoments>,
    id: ParamId,
    time: usize,
    result: AdamState<Dispatch>,
) -> DispatchTensor {
    let state = ParamMoments {
        time,
        first: result.moment_1,
        second: result.moment_2,
    };
    moments.insert(id, state);
    result.param
}

/// Collects each parameter's update: its value, gradient and moments, on
/// the gradient's device (where several devices' gradients are added up).
struct Gather<'a> {
    adam: &'a Adam,
    lr: &'a ModuleLearningRate,
    grads: GradAdaptor,
    moments: &'a HashMap<ParamId, ParamMoments>,
    /// The module path of the parameter visited, for per-group learning rates.
    path: Vec<String>,
    /// Each update's parameter and the step it takes (from 1).
    ids: Vec<(ParamId, usize)>,
    updates: Vec<AdamUpdate>,
}

impl ModuleVisitor for Gather<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some((grad, device)) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let lr = self.lr.lr_from_param(param.id, Some(&self.path.join(".")));
        let value = param.val().to_device(&device).inner();
        let (time, update) = self.adam.update_of(self.moments, param.id, value, grad, lr);
        self.ids.push((param.id, time));
        self.updates.push(update);
    }
}

/// Puts each parameter's new value in place.
struct Install {
    values: HashMap<ParamId, DispatchTensor>,
}

impl ModuleMapper for Install {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, value, mapper) = param.consume();
        let value = match self.values.remove(&id) {
            Some(new) => as_parameter(&value, Tensor::from_dispatch(new), id),
            None => value,
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

/// An updated value (no autodiff graph) as a parameter again, tracked as
/// `old` was: Burn's `ModuleOptimizer` does the same, or the next forward
/// pass would meet parameters under two checkpointing strategies.
fn as_parameter<const D: usize>(old: &Tensor<D>, new: Tensor<D>, id: ParamId) -> Tensor<D> {
    let mut parameter = Tensor::from_inner(new);
    if let Some(strategy) = old.gradient_checkpointing_strategy() {
        parameter = parameter.with_gradient_checkpointing_strategy(strategy);
    }
    if old.is_require_grad() {
        parameter = parameter.require_grad();
    }
    if old.is_distributed() {
        parameter = parameter.set_distributed(id);
    }
    parameter
}

#[cfg(test)]
mod tests;
