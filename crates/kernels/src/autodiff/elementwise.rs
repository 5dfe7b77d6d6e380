//! `relu(a + b)`'s backward: the output gradient where the output is positive,
//! to both inputs.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

use crate::FastLayers;

#[derive(Debug)]
struct AddRelu;

impl<B: Backend + FastLayers> Backward<B, 2> for AddRelu {
    /// The output: where it is zero, neither input gets a gradient.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let grad = B::relu_backward(ops.state, grad);
        let [node_a, node_b] = ops.parents;
        if let Some(node) = node_a {
            grads.register::<B>(node.id, grad.clone());
        }
        if let Some(node) = node_b {
            grads.register::<B>(node.id, grad);
        }
    }
}

pub(super) fn add_relu<B: Backend + FastLayers, C: CheckpointStrategy>(
    a: FloatTensor<Autodiff<B, C>>,
    b: FloatTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    match AddRelu
        .prepare::<C>([a.node(), b.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let output = B::add_relu_fast(a.into_primitive(), b.into_primitive());
            prep.finish(output.clone(), output)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(B::add_relu_fast(a.into_primitive(), b.into_primitive()))
        }
    }
}
