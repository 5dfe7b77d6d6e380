//! Softmax cross-entropy on a GPU in one launch: the loss, its gradient
//! and the count of right answers together, where Burn's stock loss is a
//! chain of a dozen operations forward and as many backward.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, ExtensionType, backend_extension};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{DType, Int, Shape, Tensor};

/// The outputs of [`cross_entropy`]'s kernel: the mean loss `[1]`, its
/// gradient with respect to the logits for an upstream gradient of one
/// (`[rows, classes]`), and the number of rows whose first largest logit
/// is the target's `[1]`.
#[derive(ExtensionType, Debug)]
#[extension_type(fusion)]
pub struct LossOutput<B: Backend> {
    pub loss: FloatTensor<B>,
    pub grad: FloatTensor<B>,
    pub correct: FloatTensor<B>,
}

/// The loss kernel: on the cube backend (GPUs) only, as other backends take
/// Burn's own loss.
#[backend_extension(Cube, Fusion, Autodiff)]
pub trait FastLoss: Backend {
    /// Softmax cross-entropy of `logits` against class indices `targets`,
    /// with label smoothing `smoothing` (0 for none).
    #[fusion(meta = output_spec)]
    fn cross_entropy_fast(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        smoothing: f32,
    ) -> LossOutput<Self>;
}

/// The shapes and dtypes of the loss kernel's outputs (for Burn's fusion,
/// which records the operation before it runs).
fn output_spec(logits: &TensorSpec, _targets: &TensorSpec, _smoothing: &f32) -> LossOutputMetadata {
    let one = TensorSpec::new(Shape::new([1]), logits.dtype);
    LossOutputMetadata {
        loss: one.clone(),
        grad: logits.clone(),
        correct: one,
    }
}

/// Softmax cross-entropy of `logits` `[rows, classes]` against class
/// indices `targets` `[rows]`, as Burn's `CrossEntropyLoss` (with label
/// smoothing `smoothing`, if any): the mean loss `[1]`, differentiable,
/// and the number of rows whose first largest logit is the target's `[1]`
/// (not differentiable), read back by whoever wants the accuracy.
pub fn cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    smoothing: Option<f32>,
) -> (Tensor<1>, Tensor<1>) {
    if !crate::cube_device(&logits.device()) || logits.dtype() != DType::F32 {
        return stock(logits, targets, smoothing);
    }
    let output = Dispatch::cross_entropy_fast(
        logits.into_dispatch(),
        targets.into_dispatch(),
        smoothing.unwrap_or(0.0),
    );
    (
        Tensor::from_dispatch(output.loss),
        Tensor::from_dispatch(output.correct),
    )
}

/// Burn's own loss, and the count of right rows by Burn's `argmax`.
pub(crate) fn stock(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    smoothing: Option<f32>,
) -> (Tensor<1>, Tensor<1>) {
    let [rows, _] = logits.dims();
    let correct = logits
        .clone()
        .detach()
        .argmax(1)
        .reshape([rows])
        .equal(targets.clone())
        .float()
        .sum();
    let loss = CrossEntropyLossConfig::new()
        .with_smoothing(smoothing)
        .init(&logits.device())
        .forward(logits, targets);
    (loss, correct)
}
