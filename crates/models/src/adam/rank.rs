//! Burn's typed tensors carry their rank in the type; a module's parameters
//! have several. These run rank-generic code on a rank known at run time.

use burn::backend::{DispatchTensor, TensorMetadata};
use burn::prelude::*;

/// Runs `$body` with `const $d: usize` equal to `$rank`, for the ranks a
/// parameter of these networks (or a record of one) may have; `$otherwise`
/// for any other.
macro_rules! with_rank {
    ($rank:expr, $d:ident => $body:expr, $otherwise:expr) => {
        match $rank {
            1 => {
                const $d: usize = 1;
                $body
            }
            2 => {
                const $d: usize = 2;
                $body
            }
            3 => {
                const $d: usize = 3;
                $body
            }
            4 => {
                const $d: usize = 4;
                $body
            }
            5 => {
                const $d: usize = 5;
                $body
            }
            6 => {
                const $d: usize = 6;
                $body
            }
            _ => $otherwise,
        }
    };
}

pub(super) use with_rank;

/// The values of a float tensor of any rank, in row-major order.
pub(super) fn values(tensor: DispatchTensor) -> Vec<f32> {
    let rank = tensor.shape().num_dims();
    let data = with_rank!(
        rank,
        D => Tensor::<D>::from_dispatch(tensor).into_data(),
        return Vec::new()
    );
    data.try_to_vec::<f32>().unwrap_or_default()
}
