//! Average pooling over windows that tile each plane exactly.

use std::mem::MaybeUninit;

use burn::backend::TensorMetadata;
use burn::backend::flex::{Flex, FlexTensor};
use burn::tensor::{DType, Shape};

use super::parallel::{par_fill, planes_per_task, write_runs};
use super::storage::{contiguous, tensor, values};
use crate::stock;

pub(super) fn forward(x: FlexTensor, kernel: [usize; 2]) -> FlexTensor {
    let Some(pool) = Tiles::new(&x.shape(), kernel).filter(|_| x.dtype() == DType::F32) else {
        return stock::avg_pool2d_tiled::<Flex>(x, kernel);
    };
    let x = contiguous(x);
    tensor(pool.forward(values(&x)), pool.output_shape(&x.shape()))
}

pub(super) fn backward(x: FlexTensor, output_grad: FlexTensor, kernel: [usize; 2]) -> FlexTensor {
    let Some(pool) = Tiles::new(&x.shape(), kernel).filter(|_| x.dtype() == DType::F32) else {
        return stock::avg_pool2d_tiled_backward::<Flex>(x, output_grad, kernel);
    };
    let output_grad = contiguous(output_grad);
    tensor(pool.backward(values(&output_grad)), x.shape())
}

/// Average pooling over `kernel` windows that tile each plane exactly.
struct Tiles {
    /// `batch * channels`.
    planes: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    out_height: usize,
    out_width: usize,
}

impl Tiles {
    /// `None` unless `kernel` windows tile a `[batch, channels, height,
    /// width]` input exactly.
    fn new(shape: &Shape, kernel: [usize; 2]) -> Option<Self> {
        let tiles = shape.num_dims() == 4
            && kernel
                .iter()
                .zip([shape[2], shape[3]])
                .all(|(&k, side)| k > 0 && side % k == 0);
        tiles.then(|| Tiles {
            planes: shape[0] * shape[1],
            height: shape[2],
            width: shape[3],
            kernel,
            out_height: shape[2] / kernel[0],
            out_width: shape[3] / kernel[1],
        })
    }

    fn output_shape(&self, input: &Shape) -> Shape {
        Shape::new([input[0], input[1], self.out_height, self.out_width])
    }

    fn plane(&self) -> usize {
        self.height * self.width
    }

    fn output_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Each window's share of its output.
    fn scale(&self) -> f32 {
        1.0 / (self.kernel[0] * self.kernel[1]) as f32
    }

    fn min_planes(&self) -> usize {
        planes_per_task(self.plane())
    }

    /// Row by row: the `kh` input rows of a band are added up first (whole
    /// rows, which vectorises), then each window's `kw` columns.
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let [kh, kw] = self.kernel;
        let (plane, out_plane, scale) = (self.plane(), self.output_plane(), self.scale());
        let fill = |band_sum: &mut Vec<f32>, p: usize, out: &mut [MaybeUninit<f32>]| {
            let input = &x[p * plane..][..plane];
            let bands = input.chunks_exact(kh * self.width);
            for (band, out) in bands.zip(out.chunks_exact_mut(self.out_width)) {
                let mut rows = band.chunks_exact(self.width);
                band_sum.clear();
                band_sum.extend_from_slice(rows.next().expect("kernel height > 0"));
                for row in rows {
                    band_sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
                }
                for (o, window) in out.iter_mut().zip(band_sum.chunks_exact(kw)) {
                    o.write(window.iter().sum::<f32>() * scale);
                }
            }
        };
        // SAFETY: every output value of the plane is written.
        unsafe {
            par_fill(
                self.planes * out_plane,
                out_plane,
                self.min_planes(),
                Vec::new,
                fill,
            )
        }
    }

    /// Each output row's gradient, spread over one input row, is copied to
    /// the `kh` input rows of its band.
    fn backward(&self, grad: &[f32]) -> Vec<f32> {
        let [kh, kw] = self.kernel;
        let (plane, out_plane, scale) = (self.plane(), self.output_plane(), self.scale());
        let fill = |_: &mut (), p: usize, dx: &mut [MaybeUninit<f32>]| {
            let grad = &grad[p * out_plane..][..out_plane];
            let bands = dx.chunks_exact_mut(kh * self.width);
            for (band, grad) in bands.zip(grad.chunks_exact(self.out_width)) {
                let (first, rest) = band.split_at_mut(self.width);
                let first = write_runs(first, kw, |window| grad[window] * scale);
                for row in rest.chunks_exact_mut(self.width) {
                    row.iter_mut().zip(&*first).for_each(|(d, &v)| {
                        d.write(v);
                    });
                }
            }
        };
        // SAFETY: every input position of the plane is written.
        unsafe { par_fill(self.planes * plane, plane, self.min_planes(), || (), fill) }
    }
}
