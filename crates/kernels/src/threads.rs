//! Running a piece of work on a thread of rayon's pool.
//!
//! flex and these kernels split each operation across rayon's global pool.
//! Called from a thread outside the pool (the program's main thread, the
//! server's inference thread), every operation is handed to the pool and
//! the caller sleeps until it is done: a wake-up and a sleep per operation,
//! dozens per training step or forward pass. Where operations are small (an
//! `mlp` step, a forward pass of one image) those hand-overs are a large
//! share of the time. Called from a thread of the pool, an operation runs
//! right there and the other threads join in. (What it bought:
//! docs/performance.md, "Work run on a thread of rayon's pool".)
//!
//! The work must not wait for other work that needs the pool (a channel fed
//! by a thread that computes), as the pool may have a single thread.

/// Runs `work` on a thread of rayon's global pool (this one, if it is
/// one), and returns its result; a panic in `work` is raised here.
pub fn on_pool_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| work())
}

/// Runs `work` where work on `device` runs best: on a thread of rayon's
/// pool for a CPU device (see [`on_pool_thread`]), and right here for a GPU,
/// whose kernels do not use the pool. (Burn's fusion also keeps one queue of
/// operations per thread: a training step that moved between the pool's
/// threads would move its tensors between queues at every step.)
pub fn on_compute_thread<R: Send>(
    device: &burn::tensor::Device,
    work: impl FnOnce() -> R + Send,
) -> R {
    match crate::cube_device(device) {
        true => {
            // A backstop: the device's start has done it (see `runtime`).
            crate::prepare_gpu_runtime();
            work()
        }
        false => on_pool_thread(work),
    }
}
