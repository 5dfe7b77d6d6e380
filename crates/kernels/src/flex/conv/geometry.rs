//! The sizes of one convolution, and its im2col matrix: which input value
//! each kernel tap reads at each output position.

use burn::backend::TensorMetadata;
use burn::backend::flex::Flex;
use burn::tensor::Shape;
use gemm::Parallelism;

use crate::ConvPrimitive;

/// The sizes of one convolution.
pub(super) struct ConvGeometry {
    pub(super) images: usize,
    channels_in: usize,
    height: usize,
    width: usize,
    pub(super) channels_out: usize,
    out_height: usize,
    out_width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    /// Padding before the first row and column.
    pad: [usize; 2],
}

impl ConvGeometry {
    /// `output` is the shape of the convolution's output (or its gradient).
    pub(super) fn new(conv: &ConvPrimitive<Flex>, output: &Shape) -> Self {
        let (x, weight, options) = (conv.x.shape(), conv.weight.shape(), &conv.options);
        ConvGeometry {
            images: x[0],
            channels_in: x[1],
            height: x[2],
            width: x[3],
            channels_out: weight[0],
            out_height: output[2],
            out_width: output[3],
            kernel: [weight[2], weight[3]],
            stride: options.stride,
            dilation: options.dilation,
            pad: [options.padding[0].0, options.padding[1].0],
        }
    }

    pub(super) fn image_len(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    pub(super) fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub(super) fn taps(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// Scratch space for one image's im2col matrix.
    pub(super) fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.taps() * self.positions()]
    }

    /// Images run in parallel, one per thread, when there are enough of
    /// them; otherwise (predicting one image) the matrix products share the
    /// threads.
    pub(super) fn gemm_threads(&self) -> Parallelism {
        if self.images < rayon::current_num_threads() {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        }
    }

    pub(super) fn image<'a>(&self, x: &'a [f32], image: usize) -> &'a [f32] {
        &x[image * self.image_len()..][..self.image_len()]
    }

    pub(super) fn output_grad<'a>(&self, dy: &'a [f32], image: usize) -> &'a [f32] {
        let len = self.channels_out * self.positions();
        &dy[image * len..][..len]
    }

    /// One image's im2col matrix, `taps x positions`: row `(c, i, j)` holds
    /// the input value each output position sees through kernel tap `(i, j)`
    /// of channel `c`, zero where that falls in the padding.
    pub(super) fn im2col(&self, image: &[f32], col: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let positions = self.positions();
        let shifted = self.taps_are_shifted_planes();
        for c in 0..self.channels_in {
            let channel = &image[c * self.height * self.width..][..self.height * self.width];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &mut col[((c * kh + i) * kw + j) * positions..][..positions];
                    if shifted {
                        self.fill_tap_shifted(channel, [i, j], row);
                    } else {
                        self.fill_tap(channel, [i, j], row);
                    }
                }
            }
        }
    }

    /// Whether each im2col row is the input plane shifted by a constant
    /// offset: stride 1 and an output as wide as the input (a "same"
    /// convolution, or 1x1). Then a tap is one block copy, with zeros where
    /// the kernel overhangs the padding, instead of a short copy per output
    /// row (28 values: the call would cost as much as the copy).
    fn taps_are_shifted_planes(&self) -> bool {
        self.stride == [1, 1] && self.out_width == self.width
    }

    /// Where tap `(i, j)` of a shifted-plane convolution reads: output
    /// values `block` (the output rows whose input row is inside the image)
    /// read input values `block + offset`, except the columns outside
    /// `span`, which read the padding; of the block, `from..to` have their
    /// shifted index inside the channel. `None` when no output reads inside.
    fn shifted_tap(&self, [i, j]: [usize; 2]) -> Option<ShiftedTap> {
        let width = self.width;
        let (down, across) = (i * self.dilation[0], j * self.dilation[1]);
        let first = self.pad[0].saturating_sub(down).min(self.out_height);
        let last = (self.height + self.pad[0])
            .saturating_sub(down)
            .clamp(first, self.out_height);
        let (span, _) = self.columns(j).filter(|_| first < last)?;
        let offset =
            (down * width + across) as isize - (self.pad[0] * width + self.pad[1]) as isize;
        let block = first * width..last * width;
        let from = block.start.max((-offset).max(0) as usize);
        let plane = (self.height * width) as isize;
        let to = block.end.min((plane - offset).max(0) as usize).max(from);
        let source = (from as isize + offset) as usize;
        Some(ShiftedTap {
            span,
            block,
            inside: from..to,
            source,
        })
    }

    /// [`fill_tap`](Self::fill_tap) for [`taps_are_shifted_planes`](Self::taps_are_shifted_planes):
    /// the same values.
    fn fill_tap_shifted(&self, channel: &[f32], tap: [usize; 2], row: &mut [f32]) {
        let Some(ShiftedTap {
            span,
            block,
            inside,
            source,
        }) = self.shifted_tap(tap)
        else {
            row.fill(0.0);
            return;
        };
        row[..inside.start].fill(0.0);
        row[inside.end..].fill(0.0);
        row[inside.clone()].copy_from_slice(&channel[source..][..inside.len()]);
        // The columns that read into the padding took their neighbours'
        // values in the block copy.
        self.zero_padded_columns(row, block, span);
    }

    /// [`add_tap`](Self::add_tap) for shifted planes, as one long add instead
    /// of a short one per output row: the columns that read the padding are
    /// zeroed first (`row` is scratch), so that adding them where their
    /// shifted index lands changes nothing. The same sums, bit for bit.
    fn add_tap_shifted(&self, row: &mut [f32], tap: [usize; 2], channel: &mut [f32]) {
        let Some(ShiftedTap {
            span,
            block,
            inside,
            source,
        }) = self.shifted_tap(tap)
        else {
            return;
        };
        self.zero_padded_columns(row, block, span);
        let target = &mut channel[source..][..inside.len()];
        for (x, g) in target.iter_mut().zip(&row[inside]) {
            *x += g;
        }
    }

    /// Zeroes, in each output row of `block`, the columns outside `span`
    /// (those that read the padding).
    fn zero_padded_columns(
        &self,
        row: &mut [f32],
        block: std::ops::Range<usize>,
        span: std::ops::Range<usize>,
    ) {
        for out in row[block].chunks_exact_mut(self.width) {
            out[..span.start].fill(0.0);
            out[span.end..].fill(0.0);
        }
    }

    /// The adjoint of [`im2col`](Self::im2col): adds each row of `col` back
    /// onto the input positions it was read from (`image` starts at zero).
    /// `col` is scratch: its values are not kept.
    pub(super) fn col2im(&self, col: &mut [f32], image: &mut [f32]) {
        let [kh, kw] = self.kernel;
        let positions = self.positions();
        let shifted = self.taps_are_shifted_planes();
        for c in 0..self.channels_in {
            let channel = &mut image[c * self.height * self.width..][..self.height * self.width];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &mut col[((c * kh + i) * kw + j) * positions..][..positions];
                    if shifted {
                        self.add_tap_shifted(row, [i, j], channel);
                    } else {
                        self.add_tap(row, [i, j], channel);
                    }
                }
            }
        }
    }

    /// The input row that output row `oh` reads through kernel row `i`, if
    /// it is inside the image.
    fn input_row(&self, oh: usize, i: usize) -> Option<usize> {
        let ih = (oh * self.stride[0] + i * self.dilation[0]).wrapping_sub(self.pad[0]);
        (ih < self.height).then_some(ih)
    }

    /// The output columns that read inside the image through kernel column
    /// `j`, and the input column the first of them reads.
    fn columns(&self, j: usize) -> Option<(std::ops::Range<usize>, usize)> {
        let [sw, dw, pw] = [self.stride[1], self.dilation[1], self.pad[1]];
        let (from, to) = valid_range(j * dw, pw, sw, self.width, self.out_width);
        // `from < to` makes `from * sw + j * dw >= pw`.
        (from < to).then(|| (from..to, from * sw + j * dw - pw))
    }

    fn add_tap(&self, row: &[f32], [i, j]: [usize; 2], channel: &mut [f32]) {
        let sw = self.stride[1];
        let Some((span, first)) = self.columns(j) else {
            return;
        };
        for oh in 0..self.out_height {
            let Some(ih) = self.input_row(oh, i) else {
                continue;
            };
            let grads = &row[oh * self.out_width..][span.clone()];
            let input = &mut channel[ih * self.width..][..self.width];
            if sw == 1 {
                for (x, g) in input[first..first + grads.len()].iter_mut().zip(grads) {
                    *x += g;
                }
            } else {
                for (k, g) in grads.iter().enumerate() {
                    input[first + k * sw] += g;
                }
            }
        }
    }

    fn fill_tap(&self, channel: &[f32], [i, j]: [usize; 2], row: &mut [f32]) {
        let sw = self.stride[1];
        let columns = self.columns(j);
        for (oh, out) in row.chunks_exact_mut(self.out_width).enumerate() {
            let (Some(ih), Some((span, first))) = (self.input_row(oh, i), columns.clone()) else {
                out.fill(0.0);
                continue;
            };
            let input = &channel[ih * self.width..][..self.width];
            out[..span.start].fill(0.0);
            out[span.end..].fill(0.0);
            let inside = &mut out[span];
            if sw == 1 {
                inside.copy_from_slice(&input[first..first + inside.len()]);
            } else {
                for (k, o) in inside.iter_mut().enumerate() {
                    *o = input[first + k * sw];
                }
            }
        }
    }
}

/// See [`ConvGeometry::shifted_tap`].
struct ShiftedTap {
    span: std::ops::Range<usize>,
    block: std::ops::Range<usize>,
    inside: std::ops::Range<usize>,
    source: usize,
}

/// The output columns `from..to` whose input column `o * stride + offset - pad`
/// lies inside `0..width`.
fn valid_range(
    offset: usize,
    pad: usize,
    stride: usize,
    width: usize,
    out_width: usize,
) -> (usize, usize) {
    let from = pad.saturating_sub(offset).div_ceil(stride).min(out_width);
    let to = (width + pad)
        .saturating_sub(offset)
        .div_ceil(stride)
        .clamp(from, out_width);
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::{ConvGeometry, valid_range};

    /// A geometry of one image of `channels_in x height x width`.
    fn geometry(
        [height, width]: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        pad: [[usize; 2]; 2],
    ) -> ConvGeometry {
        let side = |d: usize| {
            (([height, width][d] + pad[d][0] + pad[d][1]) - (dilation[d] * (kernel[d] - 1) + 1))
                / stride[d]
                + 1
        };
        ConvGeometry {
            images: 1,
            channels_in: 2,
            height,
            width,
            channels_out: 1,
            out_height: side(0),
            out_width: side(1),
            kernel,
            stride,
            dilation,
            pad: [pad[0][0], pad[1][0]],
        }
    }

    /// The block copy gives every tap row the per-row copy's values.
    #[test]
    fn shifted_taps_match_the_row_by_row_copy() {
        for g in shifted_cases() {
            assert!(g.taps_are_shifted_planes());
            let image: Vec<f32> = (0..g.image_len()).map(|v| v as f32 + 1.0).collect();
            let plane = g.height * g.width;
            for c in 0..g.channels_in {
                let channel = &image[c * plane..][..plane];
                let taps = (0..g.kernel[0]).flat_map(|i| (0..g.kernel[1]).map(move |j| [i, j]));
                for tap in taps {
                    let mut expected = vec![f32::NAN; g.positions()];
                    let mut row = vec![f32::NAN; g.positions()];
                    g.fill_tap(channel, tap, &mut expected);
                    g.fill_tap_shifted(channel, tap, &mut row);
                    assert_eq!(row, expected, "tap {tap:?} of {}x{}", g.height, g.width);
                }
            }
        }
    }

    /// Shifted-plane convolutions: "same" ones, 1x1, dilated, uneven
    /// padding, kernels taller than the image.
    fn shifted_cases() -> [ConvGeometry; 8] {
        [
            geometry([28, 28], [3, 3], [1, 1], [1, 1], [[1, 1], [1, 1]]),
            geometry([7, 5], [1, 1], [1, 1], [1, 1], [[0, 0], [0, 0]]),
            geometry([6, 6], [5, 5], [1, 1], [1, 1], [[2, 2], [2, 2]]),
            geometry([6, 7], [3, 3], [1, 1], [2, 2], [[2, 2], [2, 2]]),
            geometry([5, 6], [2, 2], [1, 1], [1, 1], [[1, 0], [1, 0]]),
            geometry([5, 6], [2, 2], [1, 1], [1, 1], [[0, 1], [0, 1]]),
            geometry([9, 4], [3, 3], [1, 1], [1, 1], [[0, 0], [1, 1]]),
            geometry([2, 3], [5, 3], [1, 1], [1, 1], [[3, 3], [1, 1]]),
        ]
    }

    /// The long add puts every tap row's gradients where the per-row add
    /// does, with the same sums to the bit.
    #[test]
    fn shifted_taps_add_back_as_the_row_by_row_add() {
        for g in shifted_cases() {
            let plane = g.height * g.width;
            let taps = (0..g.kernel[0]).flat_map(|i| (0..g.kernel[1]).map(move |j| [i, j]));
            let (mut expected, mut channel) = (vec![0.0; plane], vec![0.0; plane]);
            for (t, tap) in taps.enumerate() {
                let row: Vec<f32> = (0..g.positions())
                    .map(|p| ((p * 7 + t * 13) % 17) as f32 * 0.1 - 0.8)
                    .collect();
                g.add_tap(&row, tap, &mut expected);
                g.add_tap_shifted(&mut row.clone(), tap, &mut channel);
                assert_eq!(channel, expected, "tap {tap:?} of {}x{}", g.height, g.width);
            }
        }
    }

    #[test]
    fn valid_range_keeps_only_columns_inside_the_image() {
        // 3x3, pad 1, stride 1 on a 28-wide image: tap 0 skips column 0,
        // tap 2 skips the last.
        assert_eq!(valid_range(0, 1, 1, 28, 28), (1, 28));
        assert_eq!(valid_range(1, 1, 1, 28, 28), (0, 28));
        assert_eq!(valid_range(2, 1, 1, 28, 28), (0, 27));
        // Stride 2, pad 1, width 5 (out 3): input columns -1, 1, 3 for tap 0.
        assert_eq!(valid_range(0, 1, 2, 5, 3), (1, 3));
        // Input columns 1, 3, 5 for tap 2: the last falls outside.
        assert_eq!(valid_range(2, 1, 2, 5, 3), (0, 2));
    }
}
