//! Sums in independent lanes, which the compiler turns into vector adds.

/// Sum of `f(a[i], b[i])`, in eight independent lanes so the compiler can
/// vectorise it.
#[inline(always)]
pub(super) fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (a, b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a
        .remainder()
        .iter()
        .zip(b.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    let mut lanes = [0f32; 8];
    for (x, y) in a.zip(b) {
        for k in 0..8 {
            lanes[k] += f(x[k], y[k]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}
