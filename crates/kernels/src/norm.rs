//! BatchNorm, plain, through a ReLU, and a residual block's join
//! `relu(BatchNorm(x) + BatchNorm'(skip))`: the public functions and the
//! values their kernels pass.
//!
//! In training mode a BatchNorm normalises with the batch's statistics and
//! returns them (they feed the running averages); in evaluation ("eval")
//! mode it normalises with given statistics.

use crate::{Epilogue, FastLayers, accelerated, add_relu};
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::{Backend, Dispatch, ExtensionType, tensor::FloatTensor};
use burn::tensor::Tensor;

/// A BatchNorm's input and parameters (one `gamma` and `beta` per channel,
/// the channel being dimension 1 of `x`).
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct NormPrimitive<B: Backend> {
    pub x: FloatTensor<B>,
    pub gamma: FloatTensor<B>,
    pub beta: FloatTensor<B>,
    pub epsilon: f64,
}

/// A BatchNorm's mean and (biased) variance per channel.
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct StatsPrimitive<B: Backend> {
    pub mean: FloatTensor<B>,
    pub variance: FloatTensor<B>,
}

/// A training-mode BatchNorm's output and the batch's statistics.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct NormOutput<B: Backend> {
    pub output: FloatTensor<B>,
    #[extension_type]
    pub stats: StatsPrimitive<B>,
}

/// The gradients of a BatchNorm's input, `gamma` and `beta`.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct NormGrads<B: Backend> {
    pub x: FloatTensor<B>,
    pub gamma: FloatTensor<B>,
    pub beta: FloatTensor<B>,
}

/// A residual block's join: the two BatchNorms whose sum goes through a
/// ReLU; `skip.x` has the shape of `input.x`.
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct JoinPrimitive<B: Backend> {
    #[extension_type]
    pub input: NormPrimitive<B>,
    #[extension_type]
    pub skip: NormPrimitive<B>,
}

/// The statistics of both BatchNorms of a join.
#[derive(ExtensionType, Clone, Debug)]
#[extension_type(fusion)]
pub struct JoinStats<B: Backend> {
    #[extension_type]
    pub input: StatsPrimitive<B>,
    #[extension_type]
    pub skip: StatsPrimitive<B>,
}

/// A training-mode join's output and the batch statistics of both inputs.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct JoinOutput<B: Backend> {
    pub output: FloatTensor<B>,
    #[extension_type]
    pub stats: JoinStats<B>,
}

/// The gradients of both BatchNorms of a join.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct JoinGrads<B: Backend> {
    #[extension_type]
    pub input: NormGrads<B>,
    #[extension_type]
    pub skip: NormGrads<B>,
}

/// A BatchNorm layer's input and parameters, for the functions below.
pub struct NormInput<const D: usize> {
    pub x: Tensor<D>,
    pub gamma: Tensor<1>,
    pub beta: Tensor<1>,
    pub epsilon: f64,
}

/// Mean and (biased) variance per channel: a batch's, which feed a
/// BatchNorm's running averages, or those averages, which evaluation mode
/// normalises with.
pub struct NormStats {
    pub mean: Tensor<1>,
    pub variance: Tensor<1>,
}

impl NormStats {
    fn from_primitive(stats: StatsPrimitive<Dispatch>) -> Self {
        NormStats {
            mean: Tensor::from_dispatch(stats.mean),
            variance: Tensor::from_dispatch(stats.variance),
        }
    }

    fn into_primitive(self) -> StatsPrimitive<Dispatch> {
        StatsPrimitive {
            mean: self.mean.into_dispatch(),
            variance: self.variance.into_dispatch(),
        }
    }
}

impl<const D: usize> NormInput<D> {
    fn accelerated(&self) -> bool {
        accelerated(&self.x.device(), self.x.dtype())
    }

    /// Whether `self` and `skip` can be joined by one kernel.
    fn joins(&self, skip: &Self) -> bool {
        self.accelerated() && skip.accelerated() && self.x.dims() == skip.x.dims()
    }

    fn into_primitive(self) -> NormPrimitive<Dispatch> {
        NormPrimitive {
            x: self.x.into_dispatch(),
            gamma: self.gamma.into_dispatch(),
            beta: self.beta.into_dispatch(),
            epsilon: self.epsilon,
        }
    }

    /// Burn's own training-mode BatchNorm.
    fn stock_train(self) -> (Tensor<D>, NormStats) {
        let r = burn::tensor::module::batch_norm_train(self.x, self.gamma, self.beta, self.epsilon);
        let stats = NormStats {
            mean: r.mean,
            variance: r.variance,
        };
        (r.output, stats)
    }

    /// Burn's own evaluation-mode BatchNorm.
    fn stock_eval(self, stats: NormStats) -> Tensor<D> {
        burn::tensor::module::batch_norm(
            self.x,
            self.gamma,
            self.beta,
            stats.mean,
            stats.variance,
            self.epsilon,
        )
    }
}

/// BatchNorm in training mode, as `burn::tensor::module::batch_norm_train`:
/// the output and the batch statistics.
pub fn batch_norm_train<const D: usize>(input: NormInput<D>) -> (Tensor<D>, NormStats) {
    train(input, Epilogue::Identity)
}

/// `relu(BatchNorm(x))` in training mode, in one pass over the data.
pub fn batch_norm_relu_train<const D: usize>(input: NormInput<D>) -> (Tensor<D>, NormStats) {
    train(input, Epilogue::Relu)
}

fn train<const D: usize>(input: NormInput<D>, activation: Epilogue) -> (Tensor<D>, NormStats) {
    if !input.accelerated() {
        let (output, stats) = input.stock_train();
        return (activation.apply(output), stats);
    }
    let NormOutput { output, stats } =
        Dispatch::batch_norm_fast(input.into_primitive(), activation);
    (
        Tensor::from_dispatch(output),
        NormStats::from_primitive(stats),
    )
}

/// A residual block's join in training mode, `relu(BatchNorm(x) +
/// BatchNorm'(skip))`, in one pass over the data: the output and the
/// statistics of `x` and of `skip`.
pub fn batch_norm_join_train<const D: usize>(
    input: NormInput<D>,
    skip: NormInput<D>,
) -> (Tensor<D>, [NormStats; 2]) {
    if !input.joins(&skip) {
        let ((output, stats), (skip_output, skip_stats)) =
            (input.stock_train(), skip.stock_train());
        return (add_relu(output, skip_output), [stats, skip_stats]);
    }
    let join = JoinPrimitive {
        input: input.into_primitive(),
        skip: skip.into_primitive(),
    };
    let JoinOutput { output, stats } = Dispatch::batch_norm_join_fast(join);
    let stats = [stats.input, stats.skip].map(NormStats::from_primitive);
    (Tensor::from_dispatch(output), stats)
}

/// BatchNorm in evaluation mode, with the `running` statistics, as
/// `burn::tensor::module::batch_norm`.
pub fn batch_norm_eval<const D: usize>(input: NormInput<D>, running: NormStats) -> Tensor<D> {
    eval(input, running, Epilogue::Identity)
}

/// `relu(BatchNorm(x))` in evaluation mode, in one pass over the data.
pub fn batch_norm_relu_eval<const D: usize>(input: NormInput<D>, running: NormStats) -> Tensor<D> {
    eval(input, running, Epilogue::Relu)
}

fn eval<const D: usize>(
    input: NormInput<D>,
    running: NormStats,
    activation: Epilogue,
) -> Tensor<D> {
    if !input.accelerated() {
        return activation.apply(input.stock_eval(running));
    }
    Tensor::from_dispatch(Dispatch::batch_norm_fast_eval(
        input.into_primitive(),
        running.into_primitive(),
        activation,
    ))
}

/// A residual block's join in evaluation mode, `relu(BatchNorm(x) +
/// BatchNorm'(skip))` with each one's running statistics, in one pass over
/// the data.
pub fn batch_norm_join_eval<const D: usize>(
    (input, running): (NormInput<D>, NormStats),
    (skip, skip_running): (NormInput<D>, NormStats),
) -> Tensor<D> {
    if !input.joins(&skip) {
        return add_relu(input.stock_eval(running), skip.stock_eval(skip_running));
    }
    let join = JoinPrimitive {
        input: input.into_primitive(),
        skip: skip.into_primitive(),
    };
    let stats = JoinStats {
        input: running.into_primitive(),
        skip: skip_running.into_primitive(),
    };
    Tensor::from_dispatch(Dispatch::batch_norm_join_fast_eval(join, stats))
}

/// The shapes and dtypes of a training-mode BatchNorm's outputs (for Burn's
/// fusion, which records the operation before it runs).
pub(crate) fn output_spec(
    norm: &NormPrimitiveMetadata,
    _activation: &Epilogue,
) -> NormOutputMetadata {
    NormOutputMetadata {
        output: norm.x.clone(),
        stats: stats_spec(norm),
    }
}

/// One statistic per channel: the shape of `gamma`.
fn stats_spec(norm: &NormPrimitiveMetadata) -> StatsPrimitiveMetadata {
    StatsPrimitiveMetadata {
        mean: norm.gamma.clone(),
        variance: norm.gamma.clone(),
    }
}

/// The shapes and dtypes of a BatchNorm's gradients.
pub(crate) fn grads_spec(norm: &NormPrimitiveMetadata) -> NormGradsMetadata {
    NormGradsMetadata {
        x: norm.x.clone(),
        gamma: norm.gamma.clone(),
        beta: norm.beta.clone(),
    }
}

/// The shapes and dtypes of a training-mode join's outputs.
pub(crate) fn join_output_spec(join: &JoinPrimitiveMetadata) -> JoinOutputMetadata {
    JoinOutputMetadata {
        output: join.input.x.clone(),
        stats: JoinStatsMetadata {
            input: stats_spec(&join.input),
            skip: stats_spec(&join.skip),
        },
    }
}

/// The shapes and dtypes of a join's gradients.
pub(crate) fn join_grads_spec(
    join: &JoinPrimitiveMetadata,
    _stats: &JoinStatsMetadata,
    _output_grad: &TensorSpec,
) -> JoinGradsMetadata {
    JoinGradsMetadata {
        input: grads_spec(&join.input),
        skip: grads_spec(&join.skip),
    }
}
