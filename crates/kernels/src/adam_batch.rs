//! Batching a module's Adam updates into one launch on a GPU, behind Burn's
//! per-tensor optimizer interface.
//!
//! Burn's `ModuleOptimizer` calls the optimizer once per parameter tensor
//! and keeps each tensor's state (the record checkpoints save), so a kernel
//! for all tensors at once needs every update before any result is handed
//! back. The optimizer step is therefore run twice around the kernel:
//!
//! 1. [`collect`]: the step runs on a copy of the optimizer, and each
//!    [`adam_step`](crate::adam_step) records its update and returns its
//!    inputs unchanged (the copy, with its advanced step counts, is thrown
//!    away);
//! 2. [`AdamBatch::launch`]: every recorded update in one launch (one per
//!    group of tensors the adapter can bind at once);
//! 3. [`Launched::install`]: the step runs again on the real optimizer, and
//!    each `adam_step` returns its update's results, in the same order.
//!
//! The optimizer's state and record are Burn's, unchanged.

use std::cell::RefCell;
use std::collections::VecDeque;

use burn::backend::{DispatchDevice, TensorMetadata};
use burn::tensor::Shape;

use crate::adam_many::{Update, Updated, adam_steps};
use crate::{AdamStep, adam};

/// What `adam_step` does on this thread.
enum Phase {
    /// Computes the update itself.
    Off,
    /// Records the update and returns its inputs.
    Collect(Vec<(Update, AdamStep)>),
    /// Returns the next computed update.
    Install(VecDeque<(Updated, AdamStep, Shape)>),
}

thread_local! {
    static PHASE: RefCell<Phase> = const { RefCell::new(Phase::Off) };
}

/// The updates one run of an optimizer step recorded.
pub struct AdamBatch {
    updates: Vec<(Update, AdamStep)>,
}

/// Runs `step` (an optimizer step over a module) with each `adam_step`
/// recording its update instead of computing it: `step`'s result (the
/// module, its parameters unchanged where Adam was asked for) and the
/// recorded updates.
pub fn collect<R>(step: impl FnOnce() -> R) -> (R, AdamBatch) {
    let previous = PHASE.replace(Phase::Collect(Vec::new()));
    let result = step();
    let Phase::Collect(updates) = PHASE.replace(previous) else {
        unreachable!("the phase is only changed by these scopes, which restore it");
    };
    (result, AdamBatch { updates })
}

impl AdamBatch {
    /// How many parameter tensors asked for an update.
    pub fn len(&self) -> usize {
        self.updates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// Every update, in one launch per run of equal steps (normally one
    /// run: every tensor of a module is at the same step).
    pub fn launch(self) -> Launched {
        let mut done = VecDeque::with_capacity(self.updates.len());
        let mut updates = self.updates.into_iter().peekable();
        while let Some((first, step)) = updates.next() {
            let mut group = vec![first];
            while let Some((update, _)) = updates.next_if(|(_, s)| *s == step) {
                group.push(update);
            }
            let shapes: Vec<Shape> = group.iter().map(|[p, ..]| p.shape()).collect();
            let gpu = matches!(group[0][0].device(), DispatchDevice::Cube(_));
            let updated = match gpu {
                true => adam_steps(group, step),
                false => group.into_iter().map(|u| adam::one_step(u, step)).collect(),
            };
            for (updated, shape) in updated.into_iter().zip(shapes) {
                done.push_back((updated, step, shape));
            }
        }
        Launched { done }
    }
}

/// Updates computed by [`AdamBatch::launch`], for the optimizer step that
/// installs them.
pub struct Launched {
    done: VecDeque<(Updated, AdamStep, Shape)>,
}

impl Launched {
    /// Runs `step` (the same optimizer step as was collected) with each
    /// `adam_step` returning the next computed update.
    ///
    /// # Panics
    ///
    /// If `step` asks for other updates than were collected (another order,
    /// shape or step): the two runs of one step must agree.
    pub fn install<R>(self, step: impl FnOnce() -> R) -> R {
        let previous = PHASE.replace(Phase::Install(self.done));
        let result = step();
        let Phase::Install(left) = PHASE.replace(previous) else {
            unreachable!("the phase is only changed by these scopes, which restore it");
        };
        assert!(
            left.is_empty(),
            "Adam batch: {} collected updates were not asked for again",
            left.len()
        );
        result
    }
}

/// What `adam_step` does with an update on this thread: `None` where it
/// computes the update itself.
pub(crate) fn intercept(update: &Update, step: AdamStep) -> Option<Updated> {
    PHASE.with_borrow_mut(|phase| match phase {
        Phase::Off => None,
        Phase::Collect(updates) => {
            updates.push((update.clone(), step));
            let [param, _, moment_1, moment_2] = update.clone();
            Some([param, moment_1, moment_2])
        }
        Phase::Install(done) => {
            let (updated, expected, shape) = done
                .pop_front()
                .expect("Adam batch: more updates asked for than were collected");
            assert!(
                expected == step && shape == update[0].shape(),
                "Adam batch: the update asked for ({:?}, {step:?}) is not the one collected ({shape:?}, {expected:?})",
                update[0].shape()
            );
            Some(updated)
        }
    })
}
