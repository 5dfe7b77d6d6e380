//! Output vectors written in parallel on rayon's pool (the one flex uses),
//! chunk by chunk, without zeroing them first.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Values per task for element-wise work: big enough to amortise a task.
pub(super) const ELEMENTWISE_CHUNK: usize = 32_768;

/// Planes of `plane` values per task for element-wise work.
pub(super) fn planes_per_task(plane: usize) -> usize {
    (ELEMENTWISE_CHUNK / plane.max(1)).max(1)
}

/// How many chunks of work each rayon task should take at least: enough to
/// amortise its scratch buffer, few enough to keep every thread busy.
pub(super) fn per_task(chunks: usize) -> usize {
    (chunks / (4 * rayon::current_num_threads())).max(1)
}

/// A vector of `len` values written in parallel, `chunk` values at a time, by
/// `fill(state, index, chunk)`; `init` makes one `state` per task. Output
/// tensors are written whole, so zeroing them first would be wasted work.
///
/// # Safety
/// `fill` must write every value of the chunk it is given.
pub(super) unsafe fn par_fill<S>(
    len: usize,
    chunk: usize,
    min_chunks: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, &mut [MaybeUninit<f32>]) + Sync + Send,
) -> Vec<f32> {
    let fill =
        |state: &mut S, index: usize, [out]: [&mut [MaybeUninit<f32>]; 1]| fill(state, index, out);
    // SAFETY: passed on from the caller.
    let [out] = unsafe { par_fill_n(len, chunk, min_chunks, init, fill) };
    out
}

/// [`par_fill`] for `N` vectors of `len` values at once: `fill` gets the
/// same chunk of each.
///
/// # Safety
/// `fill` must write every value of the chunks it is given.
pub(super) unsafe fn par_fill_n<S, const N: usize>(
    len: usize,
    chunk: usize,
    min_chunks: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, [&mut [MaybeUninit<f32>]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let chunk = chunk.max(1);
    let mut outs: [Vec<f32>; N] = std::array::from_fn(|_| Vec::with_capacity(len));
    let starts = Starts(outs.each_mut().map(|out| out.as_mut_ptr().cast()));
    (0..len.div_ceil(chunk))
        .into_par_iter()
        .with_min_len(min_chunks.max(1))
        .for_each_init(init, |state, index| {
            let from = index * chunk;
            let count = chunk.min(len - from);
            // SAFETY: chunk `index` of each vector lies within its capacity,
            // and no two tasks get the same chunk.
            fill(state, index, unsafe { starts.chunks(from, count) });
        });
    for out in &mut outs {
        // SAFETY: the caller's `fill` wrote all `len` values.
        unsafe { out.set_len(len) };
    }
    outs
}

/// Where [`par_fill_n`]'s vectors start, shared with its tasks.
struct Starts<const N: usize>([*mut MaybeUninit<f32>; N]);

// SAFETY: the tasks write disjoint chunks through these pointers.
unsafe impl<const N: usize> Sync for Starts<N> {}

impl<const N: usize> Starts<N> {
    /// # Safety
    /// `from..from + count` must lie within each vector's capacity, and no
    /// other live slice may overlap it.
    #[allow(clippy::mut_from_ref)] // the memory is the vectors', reached by pointer
    unsafe fn chunks(&self, from: usize, count: usize) -> [&mut [MaybeUninit<f32>]; N] {
        // SAFETY: as promised by the caller.
        self.0
            .map(|start| unsafe { std::slice::from_raw_parts_mut(start.add(from), count) })
    }
}

/// `chunk` with each run of `run` values set to `value(run index)`, as
/// initialised memory.
pub(super) fn write_runs(
    chunk: &mut [MaybeUninit<f32>],
    run: usize,
    value: impl Fn(usize) -> f32,
) -> &mut [f32] {
    for (index, run) in chunk.chunks_mut(run.max(1)).enumerate() {
        run.fill(MaybeUninit::new(value(index)));
    }
    // SAFETY: every value was just written, and `MaybeUninit<f32>` has the
    // layout of `f32`.
    unsafe { &mut *(chunk as *mut [MaybeUninit<f32>] as *mut [f32]) }
}
