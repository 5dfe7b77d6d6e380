//! Subnormal floats, flushed to zero.
//!
//! A float below 1.2e-38 in magnitude is *subnormal*; x86 CPUs compute with
//! such operands or results through a slow microcode path, tens to a hundred
//! times slower per operation. A network that has learnt its task makes
//! them: its gradients shrink as the loss does, and products of small
//! gradients and small activations fall below the normal range. Setting
//! the MXCSR's flush-to-zero (FTZ) and denormals-are-zero (DAZ) bits makes
//! the CPU treat them as 0.0, which changes a result only where a value
//! was already smaller than any that matters to training (`trainer bench
//! --trained` measures the effect).
//!
//! ARM CPUs flush with FPCR's FZ bit instead (set here on AArch64, so an
//! ARM build trains to the numbers an x86 one does; elsewhere nothing is
//! flushed). The bits are per thread. Linux threads start with their creator's
//! floating-point state, so setting them at the start of `main`, before any
//! thread exists, covers every thread of the program; [`flush_subnormals`]
//! also sets them on the threads of rayon's pool if it already runs.

/// Flush-to-zero (bit 15) and denormals-are-zero (bit 6) of x86's MXCSR.
#[cfg(target_arch = "x86_64")]
const FLUSH: u64 = (1 << 15) | (1 << 6);

/// FZ (bit 24) of ARM's FPCR: on AArch64 it flushes both subnormal operands
/// and results, what FTZ and DAZ do together on x86, so a model trains to
/// the same numbers on both.
#[cfg(target_arch = "aarch64")]
const FLUSH: u64 = 1 << 24;

/// The calling thread's floating-point control register.
#[cfg(target_arch = "x86_64")]
fn read_control() -> u64 {
    let mut value: u32 = 0;
    // SAFETY: stores the 32-bit MXCSR register into a local.
    unsafe {
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut value, options(nostack, preserves_flags));
    }
    u64::from(value)
}

#[cfg(target_arch = "x86_64")]
fn write_control(value: u64) {
    let value = value as u32;
    // SAFETY: loads MXCSR from a valid value read back from it, with only the
    // FTZ and DAZ bits changed; these change results of subnormal operands
    // only and raise no exceptions.
    unsafe {
        std::arch::asm!("ldmxcsr [{}]", in(reg) &value, options(nostack, readonly, preserves_flags));
    }
}

#[cfg(target_arch = "aarch64")]
fn read_control() -> u64 {
    let value: u64;
    // SAFETY: reads the FPCR system register, which EL0 may read.
    unsafe {
        std::arch::asm!("mrs {}, fpcr", out(reg) value, options(nomem, nostack, preserves_flags));
    }
    value
}

#[cfg(target_arch = "aarch64")]
fn write_control(value: u64) {
    // SAFETY: writes FPCR back with only the FZ bit changed, which changes
    // results of subnormal operands only and raises no exceptions.
    unsafe {
        std::arch::asm!("msr fpcr, {}", in(reg) value, options(nomem, nostack, preserves_flags));
    }
}

/// Sets (or clears) flushing of subnormals on the calling thread; `false`
/// where the CPU has no such mode this crate knows.
pub fn set_on_this_thread(flush: bool) -> bool {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let control = read_control();
        write_control(if flush {
            control | FLUSH
        } else {
            control & !FLUSH
        });
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = flush;
        false
    }
}

/// Whether the calling thread flushes subnormals to zero.
pub fn on_this_thread() -> bool {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        read_control() & FLUSH == FLUSH
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Sets (or clears) flushing on the calling thread and on every thread of
/// rayon's global pool (where flex and the kernels compute).
pub fn flush_subnormals(flush: bool) -> bool {
    let here = set_on_this_thread(flush);
    rayon::broadcast(|_| set_on_this_thread(flush));
    here
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;
    use std::hint::black_box;

    #[test]
    fn flushing_turns_subnormal_results_into_zero_and_can_be_undone() {
        let tiny = black_box(1e-30f32);
        std::thread::spawn(move || {
            assert!(set_on_this_thread(true));
            assert!(on_this_thread());
            assert_eq!(black_box(tiny) * black_box(1e-10f32), 0.0);
            let child = std::thread::spawn(move || black_box(tiny) * black_box(1e-10f32));
            assert_eq!(child.join().unwrap(), 0.0, "a new thread inherits the mode");
            set_on_this_thread(false);
            assert!(!on_this_thread());
            let product = black_box(tiny) * black_box(1e-10f32);
            assert!(product > 0.0 && !product.is_normal());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_pool_threads_follow() {
        std::thread::spawn(|| {
            flush_subnormals(true);
            let flushed = rayon::broadcast(|_| on_this_thread());
            flush_subnormals(false);
            let cleared = rayon::broadcast(|_| on_this_thread());
            assert!(flushed.iter().all(|&f| f), "{flushed:?}");
            assert!(cleared.iter().all(|&f| !f), "{cleared:?}");
        })
        .join()
        .unwrap();
    }
}
