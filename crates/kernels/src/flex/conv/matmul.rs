//! Matrix products through `gemm` (the crate flex itself uses).

use gemm::{Parallelism, gemm};

/// A matrix operand for [`matmul`]: values with the distance between rows
/// and between columns, so swapping the two reads a row-major matrix
/// transposed.
pub(super) struct Operand<'a> {
    values: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Operand<'a> {
    /// Row-major, `cols` columns.
    pub(super) fn rows(values: &'a [f32], cols: usize) -> Self {
        Operand {
            values,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same values read as the transposed matrix.
    pub(super) fn transpose(self) -> Self {
        Operand {
            values: self.values,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Whether a `rows x cols` matrix read this way stays inside `values`.
    fn spans(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.values.len()
    }
}

/// `dst (m x n, row-major) = [dst +] lhs (m x k) * rhs (k x n)`.
pub(super) fn matmul(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    accumulate: bool,
    (lhs, rhs): (Operand, Operand),
    threads: Parallelism,
) {
    assert!(dst.len() >= m * n && lhs.spans(m, k) && rhs.spans(k, n));
    // SAFETY: the assertion keeps every index gemm reads or writes in bounds.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            threads,
        );
    }
}
