//! `relu(a + b)` in one pass.

use std::mem::MaybeUninit;

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::DType;

use super::parallel::{ELEMENTWISE_CHUNK, par_fill};
use super::simd::widest;
use super::storage::{contiguous, tensor, values};
use crate::stock;

pub(super) fn add_relu(a: FlexTensor, b: FlexTensor) -> FlexTensor {
    if a.dtype() != DType::F32 || a.shape() != b.shape() {
        return stock::add_relu::<Flex>(a, b);
    }
    let [a, b] = [a, b].map(contiguous);
    let (xs, ys) = (values(&a), values(&b));
    let fill = |_: &mut (), index: usize, out: &mut [MaybeUninit<f32>]| {
        let start = index * ELEMENTWISE_CHUNK;
        widest(
            #[inline(always)]
            || {
                for ((o, &x), &y) in out.iter_mut().zip(&xs[start..]).zip(&ys[start..]) {
                    o.write((x + y).max(0.0));
                }
            },
        )
    };
    // SAFETY: each chunk of the output has its full counterpart in `xs` and `ys`.
    let out = unsafe { par_fill(xs.len(), ELEMENTWISE_CHUNK, 1, || (), fill) };
    tensor(out, a.shape())
}
