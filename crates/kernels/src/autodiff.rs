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

                let params = node_weight.is_some() || node_bias.is_some();
                match (node_x.is_some(), params) {
                    (true, true) => {
                        let (x_grad, weight_grad, bias_grad) =
                            B::conv2d_fast_grads(x, weight, grad, options);
                        register::<B, 3>(
                            grads,
                            [node_x, node_weight, node_bias],
                            [x_grad, weight_grad, bias_grad],
                        );
                    }
                    (true, false) => {
                        let x_grad = B::conv2d_fast_x_grad(x, weight, grad, options);
                        register::<B, 1>(grads, [node_x], [x_grad]);
                    }
                    (false, true) => {
                        let (weight_grad, bias_grad) =
                            B::conv2d_fast_param_grads(x, weight, grad, options);
                        register::<B, 2>(grads, [node_weight, node_bias], [weight_grad, bias_grad]);
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
        batch_norm::<B, C, false>(x, gamma, beta, epsilon)
    }

    fn batch_norm_relu_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        batch_norm::<B, C, true>(x, gamma, beta, epsilon)
    }

    fn batch_norm_join_fast(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        skip: FloatTensor<Self>,
        skip_gamma: FloatTensor<Self>,
        skip_beta: FloatTensor<Self>,
        skip_epsilon: f64,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        #[derive(Debug)]
        struct BatchNormJoin;

        impl<B: Backend + FastLayers> Backward<B, 6> for BatchNormJoin {
            type State = [NormState<B>; 2];

            fn backward(
                self,
                ops: Ops<Self::State, 6>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let [input, skip] = ops.state.map(|state| state.retrieve(checkpointer));
                let (x, gamma, beta, epsilon, mean, variance) = input;
                let (skip, skip_gamma, skip_beta, skip_epsilon, skip_mean, skip_variance) = skip;
                let (x_grad, gamma_grad, beta_grad, skip_grad, skip_gamma_grad, skip_beta_grad) =
                    B::batch_norm_join_fast_backward(
                        x,
                        gamma,
                        beta,
                        mean,
                        variance,
                        epsilon,
                        skip,
                        skip_gamma,
                        skip_beta,
                        skip_mean,
                        skip_variance,
                        skip_epsilon,
                        grad,
                    );
                register::<B, _>(
                    grads,
                    ops.parents.map(|p| p.map(|n| n.id)),
                    [
                        x_grad,
                        gamma_grad,
                        beta_grad,
                        skip_grad,
                        skip_gamma_grad,
                        skip_beta_grad,
                    ],
                );
            }
        }

        let nodes = [&x, &gamma, &beta, &skip, &skip_gamma, &skip_beta].map(|t| t.node());
        let forward = |[x, gamma, beta, skip, skip_gamma, skip_beta]: [FloatTensor<Self>; 6]| {
            B::batch_norm_join_fast(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                epsilon,
                skip.into_primitive(),
                skip_gamma.into_primitive(),
                skip_beta.into_primitive(),
                skip_epsilon,
            )
        };
        let inputs = [x, gamma, beta, skip, skip_gamma, skip_beta];
        match BatchNormJoin.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let ids = inputs.each_ref().map(|t| prep.checkpoint(t));
                let (output, mean, variance, skip_mean, skip_variance) = forward(inputs);
                let state = [
                    NormState::new([ids[0], ids[1], ids[2]], epsilon, &mean, &variance),
                    NormState::new(
                        [ids[3], ids[4], ids[5]],
                        skip_epsilon,
                        &skip_mean,
                        &skip_variance,
                    ),
                ];
                let [mean, variance, skip_mean, skip_variance] =
                    [mean, variance, skip_mean, skip_variance].map(untracked::<B, C>);
                (
                    prep.finish(state, output),
                    mean,
                    variance,
                    skip_mean,
                    skip_variance,
                )
            }
            OpsKind::UnTracked(prep) => {
                let (output, mean, variance, skip_mean, skip_variance) = forward(inputs);
                let [mean, variance, skip_mean, skip_variance] =
                    [mean, variance, skip_mean, skip_variance].map(untracked::<B, C>);
                (
                    prep.finish(output),
                    mean,
                    variance,
                    skip_mean,
                    skip_variance,
                )
            }
        }
    }
}

/// A batch statistic: computed, not differentiated.
fn untracked<B: Backend, C: CheckpointStrategy>(t: FloatTensor<B>) -> FloatTensor<Autodiff<B, C>> {
    FloatTensor::<Autodiff<B, C>>::new(t)
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

/// What a BatchNorm's backward keeps of its forward: its input, `gamma` and
/// `beta` (as checkpoints), and the batch statistics as computed.
#[derive(Debug, Clone)]
struct NormState<B: Backend> {
    nodes: [NodeId; 3],
    epsilon: f64,
    mean: FloatTensor<B>,
    variance: FloatTensor<B>,
}

/// A BatchNorm's input, `gamma`, `beta`, epsilon, mean and variance.
type Retrieved<B> = (
    FloatTensor<B>,
    FloatTensor<B>,
    FloatTensor<B>,
    f64,
    FloatTensor<B>,
    FloatTensor<B>,
);

impl<B: Backend> NormState<B> {
    fn new(
        nodes: [NodeId; 3],
        epsilon: f64,
        mean: &FloatTensor<B>,
        variance: &FloatTensor<B>,
    ) -> Self {
        NormState {
            nodes,
            epsilon,
            mean: mean.clone(),
            variance: variance.clone(),
        }
    }

    fn retrieve(self, checkpointer: &mut Checkpointer) -> Retrieved<B> {
        let [x, gamma, beta] = self
            .nodes
            .map(|node| checkpointer.retrieve_node_output::<FloatTensor<B>>(node));
        (x, gamma, beta, self.epsilon, self.mean, self.variance)
    }
}

/// BatchNorm with batch statistics, through a ReLU if `RELU`.
#[allow(clippy::type_complexity)]
fn batch_norm<B: Backend + FastLayers, C: CheckpointStrategy, const RELU: bool>(
    x: FloatTensor<Autodiff<B, C>>,
    gamma: FloatTensor<Autodiff<B, C>>,
    beta: FloatTensor<Autodiff<B, C>>,
    epsilon: f64,
) -> (
    FloatTensor<Autodiff<B, C>>,
    FloatTensor<Autodiff<B, C>>,
    FloatTensor<Autodiff<B, C>>,
) {
    #[derive(Debug)]
    struct BatchNormFast<const RELU: bool>;

    impl<B: Backend + FastLayers, const RELU: bool> Backward<B, 3> for BatchNormFast<RELU> {
        type State = NormState<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            checkpointer: &mut Checkpointer,
        ) {
            let grad = grads.consume::<B>(&ops.node);
            let (x, gamma, beta, epsilon, mean, variance) = ops.state.retrieve(checkpointer);
            let backward = if RELU {
                B::batch_norm_relu_fast_backward
            } else {
                B::batch_norm_fast_backward
            };
            let (x_grad, gamma_grad, beta_grad) =
                backward(x, gamma, beta, mean, variance, epsilon, grad);
            register::<B, _>(
                grads,
                ops.parents.map(|p| p.map(|n| n.id)),
                [x_grad, gamma_grad, beta_grad],
            );
        }
    }

    let forward = |[x, gamma, beta]: [FloatTensor<Autodiff<B, C>>; 3]| {
        let forward = if RELU {
            B::batch_norm_relu_fast
        } else {
            B::batch_norm_fast
        };
        forward(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            epsilon,
        )
    };
    let nodes = [x.node(), gamma.node(), beta.node()];
    let inputs = [x, gamma, beta];
    match BatchNormFast::<RELU>
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let ids = inputs.each_ref().map(|t| prep.checkpoint(t));
            let (output, mean, variance) = forward(inputs);
            let state = NormState::new(ids, epsilon, &mean, &variance);
            let [mean, variance] = [mean, variance].map(untracked::<B, C>);
            (prep.finish(state, output), mean, variance)
        }
        OpsKind::UnTracked(prep) => {
            let (output, mean, variance) = forward(inputs);
            let [mean, variance] = [mean, variance].map(untracked::<B, C>);
            (prep.finish(output), mean, variance)
        }
    }
}
