//! Backward passes: the forward runs on the inner backend's kernel, and the
//! backward calls the inner backend's gradient kernels, so `Autodiff<Flex>`
//! trains through the fast paths. One file per layer.
//!
//! The gradient methods keep their default (stock) bodies here, as they are
//! only called on the inner backend, from these backward passes; so do
//! evaluation-mode BatchNorm, whose stock composition is differentiable, and
//! Adam, which updates parameters outside the graph.

mod conv;
mod elementwise;
mod loss;
mod norm;
mod pool;

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId, checkpoint::strategy::CheckpointStrategy, grads::Gradients,
};
use burn::backend::tensor::FloatTensor;

use crate::Epilogue;
use crate::{ConvPrimitive, FastLayers, JoinOutput, JoinPrimitive, NormOutput, NormPrimitive};

impl<B: Backend + FastLayers, C: CheckpointStrategy> FastLayers for Autodiff<B, C> {
    fn conv2d_fast(
        conv: ConvPrimitive<Self>,
        bias: FloatTensor<Self>,
        activation: Epilogue,
    ) -> FloatTensor<Self> {
        conv::conv2d::<B, C>(conv, bias, activation)
    }

    fn batch_norm_fast(norm: NormPrimitive<Self>, activation: Epilogue) -> NormOutput<Self> {
        norm::batch_norm::<B, C>(norm, activation)
    }

    fn batch_norm_join_fast(join: JoinPrimitive<Self>) -> JoinOutput<Self> {
        norm::batch_norm_join::<B, C>(join)
    }

    fn add_relu_fast(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        elementwise::add_relu::<B, C>(a, b)
    }

    fn avg_pool2d_tiled(x: FloatTensor<Self>, kernel: [usize; 2]) -> FloatTensor<Self> {
        pool::avg_pool2d_tiled::<B, C>(x, kernel)
    }
}

/// Registers each gradient with its parent, where the parent is tracked.
fn register<B: Backend, const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    values: [FloatTensor<B>; N],
) {
    for (parent, grad) in parents.into_iter().zip(values) {
        if let Some(id) = parent {
            grads.register::<B>(id, grad);
        }
    }
}

/// A value computed by the inner backend, outside the graph (a batch
/// statistic: computed, not differentiated).
fn untracked<B: Backend, C: CheckpointStrategy>(t: FloatTensor<B>) -> FloatTensor<Autodiff<B, C>> {
    FloatTensor::<Autodiff<B, C>>::new(t)
}
