//! Softmax cross-entropy in one GPU launch: the mean loss, its gradient
//! with respect to the logits, and the number of rows classified right.

use cubecl::prelude::*;

use super::reduce::{UNITS, cube_sum};

/// One cube; each unit takes rows `UNIT_POS`, `UNIT_POS + UNITS`, .... For
/// each row: the log of the softmax's denominator, the smoothed target
/// distribution `q` (`1 - smoothing` on the target plus `smoothing / C`
/// everywhere), the row's loss `-sum(q * log p)`, the gradient
/// `(p - q) / rows` and whether the first largest logit is the target's.
/// Then the loss's mean and the count of right rows, summed over the cube.
#[cube(launch)]
pub(crate) fn cross_entropy_kernel<I: Int>(
    logits: &Tensor<f32>,
    targets: &Tensor<I>,
    loss: &mut Tensor<f32>,
    grad: &mut Tensor<f32>,
    correct: &mut Tensor<f32>,
    smoothing: f32,
    #[define(I)] _target_type: ElemType,
) {
    let rows = logits.shape(0);
    let classes = logits.shape(1);
    let (row_stride, class_stride) = (logits.stride(0), logits.stride(1));
    let spread = smoothing / f32::cast_from(classes);
    let scale = 1.0f32 / f32::cast_from(rows);
    let mut loss_sum = 0.0f32;
    let mut right = 0.0f32;
    let mut row = UNIT_POS as usize;
    while row < rows {
        let base = row * row_stride;
        let target = usize::cast_from(targets[row * targets.stride(0)]);
        let mut largest = logits[base];
        let mut best = 0usize;
        for k in 1..classes {
            let z = logits[base + k * class_stride];
            if z > largest {
                largest = z;
                best = k;
            }
        }
        let mut denominator = 0.0f32;
        for k in 0..classes {
            denominator += f32::exp(logits[base + k * class_stride] - largest);
        }
        let log_denominator = f32::ln(denominator);
        for k in 0..classes {
            let log_p = logits[base + k * class_stride] - largest - log_denominator;
            let mut q = spread;
            if k == target {
                q += 1.0f32 - smoothing;
            }
            loss_sum -= q * log_p;
            grad[row * classes + k] = (f32::exp(log_p) - q) * scale;
        }
        if best == target {
            right += 1.0f32;
        }
        row += UNITS;
    }
    let mut shared = Shared::<[f32]>::new_slice(UNITS);
    let loss_sum = cube_sum(&mut shared, loss_sum);
    let right = cube_sum(&mut shared, right);
    if UNIT_POS == 0 {
        loss[0] = loss_sum * scale;
        correct[0] = right;
    }
}
