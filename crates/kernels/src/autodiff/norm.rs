//! The backward passes of BatchNorm (plain or through a ReLU) and of a
//! residual block's join.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::FloatTensor;

use super::{register, untracked};
use crate::{
    Epilogue, FastLayers, JoinGrads, JoinOutput, JoinPrimitive, JoinStats, NormGrads, NormOutput,
    NormPrimitive, StatsPrimitive,
};

/// What a BatchNorm's backward keeps of its forward: its input, `gamma` and
/// `beta` (as checkpoints), and the batch statistics as computed.
#[derive(Debug, Clone)]
struct Saved<B: Backend> {
    nodes: [NodeId; 3],
    epsilon: f64,
    stats: StatsPrimitive<B>,
}

impl<B: Backend> Saved<B> {
    fn retrieve(self, checkpointer: &mut Checkpointer) -> (NormPrimitive<B>, StatsPrimitive<B>) {
        let [x, gamma, beta] = self
            .nodes
            .map(|node| checkpointer.retrieve_node_output::<FloatTensor<B>>(node));
        let norm = NormPrimitive {
            x,
            gamma,
            beta,
            epsilon: self.epsilon,
        };
        (norm, self.stats)
    }
}

/// A BatchNorm's tracked tensors (input, `gamma`, `beta`) and epsilon.
struct Tracked<B: Backend, C: CheckpointStrategy> {
    tensors: [FloatTensor<Autodiff<B, C>>; 3],
    epsilon: f64,
}

impl<B: Backend, C: CheckpointStrategy> Tracked<B, C> {
    fn new(norm: NormPrimitive<Autodiff<B, C>>) -> Self {
        Tracked {
            tensors: [norm.x, norm.gamma, norm.beta],
            epsilon: norm.epsilon,
        }
    }

    fn into_inner(self) -> NormPrimitive<B> {
        let [x, gamma, beta] = self.tensors.map(|t| t.into_primitive());
        NormPrimitive {
            x,
            gamma,
            beta,
            epsilon: self.epsilon,
        }
    }
}

fn untracked_stats<B: Backend, C: CheckpointStrategy>(
    stats: StatsPrimitive<B>,
) -> StatsPrimitive<Autodiff<B, C>> {
    StatsPrimitive {
        mean: untracked::<B, C>(stats.mean),
        variance: untracked::<B, C>(stats.variance),
    }
}

#[derive(Debug)]
struct BatchNormFast(Epilogue);

impl<B: Backend + FastLayers> Backward<B, 3> for BatchNormFast {
    type State = Saved<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (norm, stats) = ops.state.retrieve(checkpointer);
        let NormGrads { x, gamma, beta } = B::batch_norm_fast_backward(norm, stats, self.0, grad);
        register::<B, 3>(
            grads,
            ops.parents.map(|p| p.map(|n| n.id)),
            [x, gamma, beta],
        );
    }
}

pub(super) fn batch_norm<B: Backend + FastLayers, C: CheckpointStrategy>(
    norm: NormPrimitive<Autodiff<B, C>>,
    activation: Epilogue,
) -> NormOutput<Autodiff<B, C>> {
    let norm = Tracked::new(norm);
    match BatchNormFast(activation)
        .prepare::<C>(norm.tensors.each_ref().map(|t| t.node()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let nodes = norm.tensors.each_ref().map(|t| prep.checkpoint(t));
            let epsilon = norm.epsilon;
            let NormOutput { output, stats } = B::batch_norm_fast(norm.into_inner(), activation);
            let saved = Saved {
                nodes,
                epsilon,
                stats: stats.clone(),
            };
            NormOutput {
                output: prep.finish(saved, output),
                stats: untracked_stats::<B, C>(stats),
            }
        }
        OpsKind::UnTracked(prep) => {
            let NormOutput { output, stats } = B::batch_norm_fast(norm.into_inner(), activation);
            NormOutput {
                output: prep.finish(output),
                stats: untracked_stats::<B, C>(stats),
            }
        }
    }
}

#[derive(Debug)]
struct BatchNormJoin;

impl<B: Backend + FastLayers> Backward<B, 6> for BatchNormJoin {
    type State = [Saved<B>; 2];

    fn backward(
        self,
        ops: Ops<Self::State, 6>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let [(input, input_stats), (skip, skip_stats)] =
            ops.state.map(|saved| saved.retrieve(checkpointer));
        let join = JoinPrimitive { input, skip };
        let stats = JoinStats {
            input: input_stats,
            skip: skip_stats,
        };
        let JoinGrads { input, skip } = B::batch_norm_join_fast_backward(join, stats, grad);
        register::<B, 6>(
            grads,
            ops.parents.map(|p| p.map(|n| n.id)),
            [
                input.x,
                input.gamma,
                input.beta,
                skip.x,
                skip.gamma,
                skip.beta,
            ],
        );
    }
}

pub(super) fn batch_norm_join<B: Backend + FastLayers, C: CheckpointStrategy>(
    join: JoinPrimitive<Autodiff<B, C>>,
) -> JoinOutput<Autodiff<B, C>> {
    let [input, skip] = [join.input, join.skip].map(Tracked::new);
    let tensors = [&input.tensors, &skip.tensors];
    let nodes = std::array::from_fn(|i| tensors[i / 3][i % 3].node());
    match BatchNormJoin.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let mut checkpoint = |norm: &Tracked<B, C>| {
                (
                    norm.tensors.each_ref().map(|t| prep.checkpoint(t)),
                    norm.epsilon,
                )
            };
            let checkpoints = [checkpoint(&input), checkpoint(&skip)];
            let join = JoinPrimitive {
                input: input.into_inner(),
                skip: skip.into_inner(),
            };
            let JoinOutput { output, stats } = B::batch_norm_join_fast(join);
            let [(input_nodes, input_epsilon), (skip_nodes, skip_epsilon)] = checkpoints;
            let saved = [
                Saved {
                    nodes: input_nodes,
                    epsilon: input_epsilon,
                    stats: stats.input.clone(),
                },
                Saved {
                    nodes: skip_nodes,
                    epsilon: skip_epsilon,
                    stats: stats.skip.clone(),
                },
            ];
            JoinOutput {
                output: prep.finish(saved, output),
                stats: untracked_join_stats::<B, C>(stats),
            }
        }
        OpsKind::UnTracked(prep) => {
            let join = JoinPrimitive {
                input: input.into_inner(),
                skip: skip.into_inner(),
            };
            let JoinOutput { output, stats } = B::batch_norm_join_fast(join);
            JoinOutput {
                output: prep.finish(output),
                stats: untracked_join_stats::<B, C>(stats),
            }
        }
    }
}

fn untracked_join_stats<B: Backend, C: CheckpointStrategy>(
    stats: JoinStats<B>,
) -> JoinStats<Autodiff<B, C>> {
    JoinStats {
        input: untracked_stats::<B, C>(stats.input),
        skip: untracked_stats::<B, C>(stats.skip),
    }
}
