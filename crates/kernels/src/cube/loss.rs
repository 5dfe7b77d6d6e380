//! The cross-entropy kernel's launch: one cube for the whole batch (its
//! rows are few and short: a batch of logits over a dozen classes).

use burn::backend::TensorMetadata;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::tensor::Shape;
use burn_cubecl::CubeBackend;
use cubecl::prelude::*;

use super::empty;
use super::loss_kernels::cross_entropy_kernel;
use super::reduce::UNITS;
use crate::{FastLoss, LossOutput};

impl FastLoss for CubeBackend {
    fn cross_entropy_fast(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        smoothing: f32,
    ) -> LossOutput<Self> {
        let loss = empty(&logits, Shape::new([1]));
        let grad = empty(&logits, logits.shape());
        let correct = empty(&logits, Shape::new([1]));
        let target_type = dtype_to_storage_type(targets.dtype());
        cross_entropy_kernel::launch(
            &logits.client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(UNITS as u32),
            logits.clone().into_tensor_arg(),
            targets.into_tensor_arg(),
            loss.clone().into_tensor_arg(),
            grad.clone().into_tensor_arg(),
            correct.clone().into_tensor_arg(),
            smoothing,
            target_type,
        );
        LossOutput {
            loss,
            grad,
            correct,
        }
    }
}
