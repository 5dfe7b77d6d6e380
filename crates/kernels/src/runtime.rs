//! How this process drives Burn's GPU runtime: two switches, thrown once
//! before the first GPU tensor exists, each closing a fault of Burn 0.22.1
//! / CubeCL 0.11.3 that corrupted training (docs/gpu.md, "Two runtime
//! switches").
//!
//! **One stream per device.** By default every OS thread records its GPU
//! work on a stream of its own (CubeCL's `StreamPolicy::PerThread`), and a
//! tensor made on one thread's stream and used on another's is handed over
//! by Burn's fusion (`burn-fusion` 0.22.1, `stream/multi.rs`). That hand-over
//! loses writes: work a thread recorded lazily and left pending, whose
//! inputs came from a third thread, is later read by another thread with the
//! values it had before (Adam's moments read as old, so its updates stop;
//! `tests/streams.rs` shows it with Burn's own operations and no kernel of
//! ours, and `hanzi12/tests/wgpu_threads.rs` with training steps). Burn's
//! multi-device strategy runs steps on worker threads, and rayon hands work
//! to whichever pool thread is free, so the product meets it. With
//! `StreamPolicy::Single` every thread records onto one stream per device
//! (what CubeCL does on WebAssembly anyway): nothing is ever handed between
//! streams, and the order work is recorded in is the order it runs in.
//! Devices stay apart (each has its own stream 0), so `--devices N` on N
//! GPUs still runs them side by side.
//!
//! **Reads that copy when they are made.** Burn 0.22.1 reads a GPU tensor
//! lazily on a thread-based runtime: its `into_data` returns bytes that copy
//! the device buffer only when first accessed (burn-cubecl 0.22.1,
//! `ops/base.rs` lines 37-59; CubeCL 0.11.3, `client.rs` lines 401-451: "the
//! buffer must not be mutated between this call and the first read"). The
//! lazy bytes keep the buffer allocated but do not count as an owner, so a
//! kernel that owns the tensor's last handle may still write into it in
//! place, which Burn's fusion does: the fused optimizer step writes its new
//! values into the buffers of the old ones. An optimizer record
//! (`ModuleOptimizer::to_record`) kept past the next step, as Burn's
//! `Learner` keeps it until its checkpointer thread writes the file, then
//! saved other tensors' values for the Adam moments. Declaring an
//! asynchronous runtime makes every read copy eagerly (the only effect of
//! the switch in Burn 0.22.1).

use std::sync::Once;

use burn_std::stream::{StreamPolicy, set_policy};

/// Puts the GPU runtime in the mode this project trains in: one stream per
/// device, reads that copy when made. Idempotent; call it before the first
/// GPU tensor is made (a tensor made before keeps its thread's stream).
pub fn prepare_gpu_runtime() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        set_policy(StreamPolicy::Single);
        burn_std::set_runtime_kind(burn_std::RuntimeKind::Async);
    });
}

#[cfg(test)]
mod tests {
    use burn_std::stream::{StreamId, StreamPolicy, policy};

    #[test]
    fn one_stream_and_eager_reads() {
        super::prepare_gpu_runtime();
        assert_eq!(burn_std::runtime_kind(), burn_std::RuntimeKind::Async);
        assert_eq!(policy(), StreamPolicy::Single);
        let here = StreamId::current();
        let there = std::thread::spawn(StreamId::current).join().unwrap();
        assert_eq!(
            here, there,
            "every thread records on the device's one stream"
        );
    }
}
