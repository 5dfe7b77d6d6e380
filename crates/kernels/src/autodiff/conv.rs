//! The convolution's backward (through its ReLU, if it has one): only the
//! gradients whose inputs are tracked.

use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;

use super::register;
use crate::{ConvGrads, ConvParamGrads, ConvPrimitive, Epilogue, FastLayers};

#[derive(Debug)]
struct Conv2dFast;

impl<B: Backend + FastLayers> Backward<B, 3> for Conv2dFast {
    /// The input and weight (as checkpoints), the options, and the output
    /// where a ReLU follows (no gradient passes where it is zero).
    type State = (NodeId, NodeId, ConvOptions<2>, Option<FloatTensor<B>>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents.map(|n| n.map(|n| n.id));
        let (x, weight, options, relu_output) = ops.state;
        let grad = grads.consume::<B>(&ops.node);
        let grad = match relu_output {
            Some(output) => B::relu_backward(output, grad),
            None => grad,
        };
        let conv = ConvPrimitive {
            x: checkpointer.retrieve_node_output::<FloatTensor<B>>(x),
            weight: checkpointer.retrieve_node_output::<FloatTensor<B>>(weight),
            options,
        };
        let params = node_weight.is_some() || node_bias.is_some();
        match (node_x.is_some(), params) {
            (true, true) => {
                let ConvGrads { x, params } = B::conv2d_fast_grads(conv, grad);
                register::<B, 3>(
                    grads,
                    [node_x, node_weight, node_bias],
                    [x, params.weight, params.bias],
                );
            }
            (true, false) => {
                register::<B, 1>(grads, [node_x], [B::conv2d_fast_x_grad(conv, grad)]);
            }
            (false, true) => {
                let ConvParamGrads { weight, bias } = B::conv2d_fast_param_grads(conv, grad);
                register::<B, 2>(grads, [node_weight, node_bias], [weight, bias]);
            }
            (false, false) => {}
        }
    }
}

pub(super) fn conv2d<B: Backend + FastLayers, C: CheckpointStrategy>(
    conv: ConvPrimitive<Autodiff<B, C>>,
    bias: FloatTensor<Autodiff<B, C>>,
    activation: Epilogue,
) -> FloatTensor<Autodiff<B, C>> {
    let ConvPrimitive { x, weight, options } = conv;
    let nodes = [x.node(), weight.node(), bias.node()];
    match Conv2dFast.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let (x_node, weight_node) = (prep.checkpoint(&x), prep.checkpoint(&weight));
            let conv = ConvPrimitive {
                x: x.into_primitive(),
                weight: weight.into_primitive(),
                options: options.clone(),
            };
            let output = B::conv2d_fast(conv, bias.into_primitive(), activation);
            let relu_output = (activation == Epilogue::Relu).then(|| output.clone());
            prep.finish((x_node, weight_node, options, relu_output), output)
        }
        OpsKind::UnTracked(prep) => {
            let conv = ConvPrimitive {
                x: x.into_primitive(),
                weight: weight.into_primitive(),
                options,
            };
            prep.finish(B::conv2d_fast(conv, bias.into_primitive(), activation))
        }
    }
}
