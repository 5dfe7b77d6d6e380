//! BatchNorm on the GPU (plain, through a ReLU, or a residual block's
//! join): the launches of [`norm_kernels`](super::norm_kernels), one per
//! training forward, evaluation forward or backward.

use burn::backend::TensorMetadata;
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::*;

use super::norm_kernels::{norm_backward_kernel, norm_eval_kernel, norm_train_kernel};
use super::reduce::UNITS;
use super::{elementwise_count, empty, f32_input};
use crate::{
    Epilogue, JoinGrads, JoinOutput, JoinPrimitive, JoinStats, NormGrads, NormOutput,
    NormPrimitive, StatsPrimitive,
};

type Norm = NormPrimitive<CubeBackend>;
type Stats = StatsPrimitive<CubeBackend>;

/// Whether the kernels are written for these BatchNorm inputs: f32, of rank 4
/// (`[batch, channels, height, width]`), all of one shape.
pub(super) fn fits(inputs: &[&Norm]) -> bool {
    let shape = inputs[0].x.shape();
    inputs
        .iter()
        .all(|n| f32_input(&n.x) && n.x.shape() == shape && shape.num_dims() == 4)
}

/// The second input of a kernel: the join's skip, or the first input again
/// (read by nothing) for a plain BatchNorm.
fn second(first: &Norm, skip: Option<&Norm>) -> (CubeTensor, CubeTensor, CubeTensor, f32) {
    let n = skip.unwrap_or(first);
    (
        n.x.clone(),
        n.gamma.clone(),
        n.beta.clone(),
        n.epsilon as f32,
    )
}

/// A vector of one value per channel of `like`, on its device; a single
/// value where the kernel writes nothing to it (a plain BatchNorm's unused
/// skip outputs: each output needs a buffer of its own).
fn per_channel(like: &CubeTensor, used: bool) -> CubeTensor {
    let len = if used { like.shape()[1] } else { 1 };
    empty(like, Shape::new([len]))
}

/// Training forward: `relu?(BN(x) [+ BN'(skip)])` and the batch statistics
/// of `x` (and of `skip`).
fn train_launch(norm: &Norm, skip: Option<&Norm>, relu: bool) -> (CubeTensor, Vec<Stats>) {
    let x = &norm.x;
    let output = empty(x, x.shape());
    let [stats, skip_stats] = [true, skip.is_some()].map(|used| Stats {
        mean: per_channel(x, used),
        variance: per_channel(x, used),
    });
    let (sx, sg, sb, se) = second(norm, skip);
    norm_train_kernel::launch(
        &x.client,
        CubeCount::Static(x.shape()[1] as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        x.clone().into_tensor_arg(),
        norm.gamma.clone().into_tensor_arg(),
        norm.beta.clone().into_tensor_arg(),
        sx.into_tensor_arg(),
        sg.into_tensor_arg(),
        sb.into_tensor_arg(),
        output.clone().into_tensor_arg(),
        stats.mean.clone().into_tensor_arg(),
        stats.variance.clone().into_tensor_arg(),
        skip_stats.mean.clone().into_tensor_arg(),
        skip_stats.variance.clone().into_tensor_arg(),
        norm.epsilon as f32,
        se,
        skip.is_some(),
        relu,
    );
    (output, vec![stats, skip_stats])
}

pub(super) fn train(norm: Norm, activation: Epilogue) -> NormOutput<CubeBackend> {
    let (output, mut stats) = train_launch(&norm, None, activation == Epilogue::Relu);
    NormOutput {
        output,
        stats: stats.remove(0),
    }
}

pub(super) fn join_train(join: JoinPrimitive<CubeBackend>) -> JoinOutput<CubeBackend> {
    let (output, mut stats) = train_launch(&join.input, Some(&join.skip), true);
    let skip = stats.remove(1);
    JoinOutput {
        output,
        stats: JoinStats {
            input: stats.remove(0),
            skip,
        },
    }
}

/// Evaluation forward with given statistics.
fn eval_launch(
    norm: &Norm,
    stats: &Stats,
    skip: Option<(&Norm, &Stats)>,
    relu: bool,
) -> CubeTensor {
    let x = &norm.x;
    let output = empty(x, x.shape());
    let (sx, sg, sb, se) = second(norm, skip.map(|s| s.0));
    let skip_stats = skip.map_or(stats, |s| s.1);
    let (count, dim) = elementwise_count(&x.client, output.shape().num_elements());
    norm_eval_kernel::launch(
        &x.client,
        count,
        dim,
        x.clone().into_tensor_arg(),
        norm.gamma.clone().into_tensor_arg(),
        norm.beta.clone().into_tensor_arg(),
        sx.into_tensor_arg(),
        sg.into_tensor_arg(),
        sb.into_tensor_arg(),
        stats.mean.clone().into_tensor_arg(),
        stats.variance.clone().into_tensor_arg(),
        skip_stats.mean.clone().into_tensor_arg(),
        skip_stats.variance.clone().into_tensor_arg(),
        output.clone().into_tensor_arg(),
        norm.epsilon as f32,
        se,
        skip.is_some(),
        relu,
    );
    output
}

pub(super) fn eval(norm: Norm, stats: Stats, activation: Epilogue) -> CubeTensor {
    eval_launch(&norm, &stats, None, activation == Epilogue::Relu)
}

pub(super) fn join_eval(
    join: JoinPrimitive<CubeBackend>,
    stats: JoinStats<CubeBackend>,
) -> CubeTensor {
    eval_launch(
        &join.input,
        &stats.input,
        Some((&join.skip, &stats.skip)),
        true,
    )
}

/// Backward: each input's gradient and its `gamma` and `beta` gradients.
fn backward_launch(
    (norm, stats): (&Norm, &Stats),
    skip: Option<(&Norm, &Stats)>,
    relu: bool,
    dy: CubeTensor,
) -> Vec<NormGrads<CubeBackend>> {
    let x = &norm.x;
    let dx = empty(x, x.shape());
    let dskip = match skip {
        Some(_) => empty(x, x.shape()),
        None => empty(x, Shape::new([1])),
    };
    let [grads, skip_grads] = [true, skip.is_some()].map(|used| Stats {
        mean: per_channel(x, used),
        variance: per_channel(x, used),
    });
    let (sx, sg, sb, se) = second(norm, skip.map(|s| s.0));
    let skip_stats = skip.map_or(stats, |s| s.1);
    norm_backward_kernel::launch(
        &x.client,
        CubeCount::Static(x.shape()[1] as u32, 1, 1),
        CubeDim::new_1d(UNITS as u32),
        x.clone().into_tensor_arg(),
        norm.gamma.clone().into_tensor_arg(),
        norm.beta.clone().into_tensor_arg(),
        sx.into_tensor_arg(),
        sg.into_tensor_arg(),
        sb.into_tensor_arg(),
        stats.mean.clone().into_tensor_arg(),
        stats.variance.clone().into_tensor_arg(),
        skip_stats.mean.clone().into_tensor_arg(),
        skip_stats.variance.clone().into_tensor_arg(),
        dy.into_tensor_arg(),
        dx.clone().into_tensor_arg(),
        dskip.clone().into_tensor_arg(),
        grads.mean.clone().into_tensor_arg(),
        grads.variance.clone().into_tensor_arg(),
        skip_grads.mean.clone().into_tensor_arg(),
        skip_grads.variance.clone().into_tensor_arg(),
        norm.epsilon as f32,
        se,
        skip.is_some(),
        relu,
    );
    // (`mean` and `variance` carry the `gamma` and `beta` gradients here.)
    [(dx, grads), (dskip, skip_grads)]
        .into_iter()
        .take(if skip.is_some() { 2 } else { 1 })
        .map(|(x, g)| NormGrads {
            x,
            gamma: g.mean,
            beta: g.variance,
        })
        .collect()
}

pub(super) fn backward(
    norm: Norm,
    stats: Stats,
    activation: Epilogue,
    dy: CubeTensor,
) -> NormGrads<CubeBackend> {
    let relu = activation == Epilogue::Relu;
    backward_launch((&norm, &stats), None, relu, dy).remove(0)
}

pub(super) fn join_backward(
    join: JoinPrimitive<CubeBackend>,
    stats: JoinStats<CubeBackend>,
    dy: CubeTensor,
) -> JoinGrads<CubeBackend> {
    let input = (&join.input, &stats.input);
    let mut grads = backward_launch(input, Some((&join.skip, &stats.skip)), true, dy);
    let skip = grads.remove(1);
    JoinGrads {
        input: grads.remove(0),
        skip,
    }
}
