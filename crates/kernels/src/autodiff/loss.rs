//! The cross-entropy's backward: the gradient the kernel computed for an
//! upstream gradient of one, scaled by the upstream gradient.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::tensor::Shape;

use super::{register, untracked};
use crate::{FastLoss, LossOutput};

#[derive(Debug)]
struct CrossEntropyBackward;

impl<B: Backend> Backward<B, 1> for CrossEntropyBackward {
    /// The gradient of the logits for an upstream gradient of one.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let upstream = grads.consume::<B>(&ops.node);
        let upstream = B::float_reshape(upstream, Shape::new([1, 1]));
        let grad = B::float_mul(ops.state, upstream);
        let parents: [Option<NodeId>; 1] = ops.parents.map(|p| p.map(|n| n.id));
        register::<B, 1>(grads, parents, [grad]);
    }
}

impl<B: Backend + FastLoss, C: CheckpointStrategy> FastLoss for Autodiff<B, C> {
    fn cross_entropy_fast(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        smoothing: f32,
    ) -> LossOutput<Self> {
        let prepared = CrossEntropyBackward
            .prepare::<C>([logits.node()])
            .compute_bound()
            .stateful();
        let out = B::cross_entropy_fast(logits.into_primitive(), targets, smoothing);
        let loss = match prepared {
            OpsKind::Tracked(prep) => prep.finish(out.grad.clone(), out.loss),
            OpsKind::UnTracked(prep) => prep.finish(out.loss),
        };
        LossOutput {
            loss,
            grad: untracked::<B, C>(out.grad),
            correct: untracked::<B, C>(out.correct),
        }
    }
}
