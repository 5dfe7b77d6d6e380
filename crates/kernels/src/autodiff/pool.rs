//! Tiled average pooling's backward.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

use crate::FastLayers;

#[derive(Debug)]
struct AvgPoolTiled;

impl<B: Backend + FastLayers> Backward<B, 1> for AvgPoolTiled {
    /// The input (as a checkpoint) and the kernel.
    type State = (NodeId, [usize; 2]);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, kernel) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
        let [node_x] = ops.parents;
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::avg_pool2d_tiled_backward(x, grad, kernel));
        }
    }
}

pub(super) fn avg_pool2d_tiled<B: Backend + FastLayers, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    kernel: [usize; 2],
) -> FloatTensor<Autodiff<B, C>> {
    match AvgPoolTiled
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), kernel);
            prep.finish(state, B::avg_pool2d_tiled(x.into_primitive(), kernel))
        }
        OpsKind::UnTracked(prep) => prep.finish(B::avg_pool2d_tiled(x.into_primitive(), kernel)),
    }
}
