//! Backward passes: the forward runs on the inner backend's kernel, and the
//! backward calls the inner backend's gradient kernels, so `Autodiff<Flex>`
//! trains through the fast paths.
//!
//! The gradient methods keep their default (stock) bodies here, as they are
//! only called on the inner backend, from these backward passes; so does
//! evaluation-mode BatchNorm, whose stock composition is differentiable.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;

use crate::FastLayers;

impl<B: Backend + FastLayers, C: CheckpointStrategy> FastLayers for Autodiff<B, C> {
    fn conv2d_fast(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv2dFast;

        impl<B: Backend + FastLayers> Backward<B, 3> for Conv2dFast {
            type State = (NodeId, NodeId, ConvOptions<2>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents.map(|n| n.map(|n| n.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state, options) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);

                let register = |grads: &mut Gradients, node: Option<NodeId>, grad| {
                    if let Some(id) = node {
                        grads.register::<B>(id, grad);
                    }
                };
                let params = node_weight.is_some() || node_bias.is_some();
                match (node_x.is_some(), params) {
                    (true, true) => {
                        let (x_grad, weight_grad, bias_grad) =
                            B::conv2d_fast_grads(x, weight, grad, options);
                        register(grads, node_x, x_grad);
                        register(grads, node_weight, weight_grad);
                        register(grads, node_bias, bias_grad);
                    }
                    (true, false) => {
                        register(
                            grads,
                            node_x,
                            B::conv2d_fast_x_grad(x, weight, grad, options),
                        );
                    }
                    (false, true) => {
                        let (weight_grad, bias_grad) =
                            B::conv2d_fast_param_grads(x, weight, grad, options);
                        register(grads, node_weight, weight_grad);
                        register(grads, node_bias, bias_grad);
                    }
                    (false, false) => {}
                }
            }
        }

        match Conv2dFast
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output = B::conv2d_fast(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options.clone(),
                );
                prep.finish((x_state, weight_state, options), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_fast(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }

    fn add_relu_fast(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AddRelu;

        impl<B: Backend + FastLayers> Backward<B, 2> for AddRelu {
            // The output: where it is zero, neither input gets a gradient.
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
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

    fn avg_pool2d_tiled(x: FloatTensor<Self>, kernel: [usize; 2]) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AvgPoolTiled;

        impl<B: Backend + FastLayers> Backward<B, 1> for AvgPoolTiled {
            type State = (NodeId, [usize; 2]);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, kernel) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let [node_x] = ops.parents;
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::avg_pool2d_tiled_backward(x, grad, kernel));
                }
            }
        }

        match AvgPoolTiled
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let output = B::avg_pool2d_tiled(x.into_primitive(), kernel);
                prep.finish((x_state, kernel), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::avg_pool2d_tiled(x.into_primitive(), kernel))
            }
        }
    }

    fn batch_norm_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormFast;

        impl<B: Backend + FastLayers> Backward<B, 3> for BatchNormFast {
            // The batch statistics come along as the forward computed them.
            type State = (NodeId, NodeId, FloatTensor<B>, FloatTensor<B>, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma_state);
                let (x_grad, gamma_grad, beta_grad) =
                    B::batch_norm_fast_backward(x, gamma, mean, variance, epsilon, grad);
                for (node, grad) in [
                    (node_x, x_grad),
                    (node_gamma, gamma_grad),
                    (node_beta, beta_grad),
                ] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let untracked = |t: FloatTensor<B>| FloatTensor::<Self>::new(t);
        match BatchNormFast
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let (output, mean, variance) = B::batch_norm_fast(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let state = (
                    x_state,
                    gamma_state,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                );
                (
                    prep.finish(state, output),
                    untracked(mean),
                    untracked(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (output, mean, variance) = B::batch_norm_fast(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (prep.finish(output), untracked(mean), untracked(variance))
            }
        }
    }
}
