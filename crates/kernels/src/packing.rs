//! When `gemm` copies a left operand that is already column-major.
//!
//! Before multiplying, `gemm` may copy ("pack") a block of its left operand
//! into the order its micro-kernel reads. For an operand that is already
//! column-major, a single-threaded call packs once the block of columns it
//! multiplies is wider than 8 micro-kernel tiles (48 columns with AVX-512),
//! on the bet that the copy is paid back over many tiles. The convolutions
//! here multiply im2col matrices by 64 to 288 columns, one image per thread:
//! too few tiles for the copy to be paid back, so below 16 tiles (`gemm`'s
//! own bar for multi-threaded calls) the operand is read where it lies.
//! The measurements behind the choice are in docs/performance.md
//! ("Packing an operand that needs none").

/// Packs a column-major left operand only for blocks wider than 16
/// micro-kernel tiles. Process-wide (also for flex's own matrix products);
/// call once at start.
pub fn pack_wide_blocks_only() {
    gemm::set_lhs_packing_threshold_single_thread(16);
}
