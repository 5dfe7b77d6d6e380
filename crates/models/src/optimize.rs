//! The optimizer step of a training step. On a GPU, Adam's updates of all
//! of a module's parameter tensors are one kernel launch instead of one per
//! tensor (`kernels::adam_batch`: the step runs once to collect them, once
//! to hand the results to Burn's optimizer, whose state and checkpoint
//! record stay as they are).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

/// `optim.step(lr, module, grads)`, Adam's updates batched on a GPU.
pub(crate) fn step<M: Module>(
    module: M,
    optim: &mut ModuleOptimizer,
    lr: ModuleLearningRate,
    grads: GradientsParams,
) -> M {
    let gpu = module.devices().iter().any(kernels::cube_device);
    if !gpu {
        return optim.step(lr, module, grads);
    }
    let mut probe = optim.clone();
    let copy = copy_grads(&module, &grads);
    let original = module.clone();
    let (probed, batch) = kernels::adam_batch::collect(|| probe.step(lr.clone(), module, copy));
    if batch.is_empty() {
        // Not Adam: the probe took the step.
        *optim = probe;
        return probed;
    }
    drop((probe, probed));
    if batch.len() != grads.len() {
        // Adam for some tensors only: each optimizer steps its own.
        return optim.step(lr, original, grads);
    }
    batch.launch().install(|| optim.step(lr, original, grads))
}

/// A second set of `grads` for `module`'s parameters (the tensors are shared).
fn copy_grads<M: Module>(module: &M, grads: &GradientsParams) -> GradientsParams {
    struct Copy<'a> {
        from: &'a GradientsParams,
        to: GradientsParams,
    }
    impl ModuleVisitor for Copy<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.from.get::<D>(param.id) {
                self.to.register(param.id, grad);
            }
        }
    }
    let mut copy = Copy {
        from: grads,
        to: GradientsParams::new(),
    };
    module.visit(&mut copy);
    copy.to
}
