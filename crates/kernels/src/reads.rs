//! GPU reads that copy the values when they are made.
//!
//! Burn 0.22.1 reads a GPU tensor lazily on a thread-based runtime: its
//! `into_data` returns bytes that copy the device buffer only when first
//! accessed (burn-cubecl 0.22.1, `ops/base.rs` lines 37-59; CubeCL 0.11.3,
//! `client.rs` lines 401-451: "the buffer must not be mutated between this
//! call and the first read"). The lazy bytes keep the buffer allocated but
//! do not count as an owner, so a kernel that owns the tensor's last handle
//! may still write into it in place, which Burn's fusion does: the fused
//! optimizer step writes its new values into the buffers of the old ones.
//! An optimizer record (`ModuleOptimizer::to_record`, which reads every
//! state tensor) kept past the next step, as Burn's `Learner` keeps it
//! until its checkpointer thread writes the file, then saved other tensors'
//! values for the Adam moments, and a resumed run trained to NaN.
//!
//! Declaring an asynchronous runtime makes every read copy eagerly (the
//! only effect of the switch in Burn 0.22.1), so a record holds the values
//! as they were when it was made.

use std::sync::Once;

/// Makes every later GPU read copy its values when it is made. Idempotent.
pub fn read_gpu_tensors_eagerly() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| burn_std::set_runtime_kind(burn_std::RuntimeKind::Async));
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_are_declared_eager() {
        super::read_gpu_tensors_eagerly();
        assert_eq!(burn_std::runtime_kind(), burn_std::RuntimeKind::Async);
    }
}
