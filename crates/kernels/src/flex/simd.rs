//! The instruction sets the hand-written loops are compiled for, chosen at
//! run time: one binary uses AVX2 or AVX-512 where the CPU has them and the
//! target's baseline (SSE2 on x86-64, NEON on aarch64) elsewhere.
//!
//! [`vectorised!`] runs a loop inside a function compiled with the wider
//! instructions enabled; the loop is inlined there and vectorised for them. Rust never fuses a
//! multiply and an add on its own and the loops fix their order of
//! summation, so every level gives the same results to the bit.

use std::sync::OnceLock;

/// An instruction-set level of the loops, from narrowest to widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // the wide levels are x86's
pub(crate) enum Isa {
    /// The target's baseline.
    Portable = 0,
    /// AVX2 and FMA.
    Avx2 = 1,
    /// AVX-512 (F, BW, DQ, VL) and AVX2.
    Avx512 = 2,
}

impl Isa {
    /// The widest level this CPU runs, detected once.
    pub(crate) fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(detect)
    }

    /// The level the loops run at now.
    pub(crate) fn current() -> Isa {
        #[cfg(test)]
        if let Some(cap) = cap::get() {
            return cap.min(Isa::detected());
        }
        Isa::detected()
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    let avx2 = has!("avx2") && has!("fma");
    let avx512 = has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl");
    match (avx2, avx512) {
        (true, true) => Isa::Avx512,
        (true, false) => Isa::Avx2,
        _ => Isa::Portable,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Isa {
    Isa::Portable
}

/// `$body`, compiled for the widest instructions this CPU has: for the
/// loops of one chunk of work (the choice costs a load and a branch). The
/// body is written out once per level, each copy in a closure called from
/// one place, which the compiler inlines into the wrapper with those
/// instructions enabled (a closure shared by the levels was not inlined, and
/// ran with the baseline's). What the body calls must be `#[inline(always)]`
/// to be vectorised with it.
macro_rules! vectorised {
    ($body:expr) => {
        match $crate::flex::simd::Isa::current() {
            // SAFETY: `Isa::current` is at most what the CPU was detected
            // to run.
            #[cfg(target_arch = "x86_64")]
            $crate::flex::simd::Isa::Avx512 => unsafe { $crate::flex::simd::x86::avx512(|| $body) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            $crate::flex::simd::Isa::Avx2 => unsafe { $crate::flex::simd::x86::avx2(|| $body) },
            _ => $body,
        }
    };
}
pub(crate) use vectorised;

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    #[target_feature(enable = "avx2,fma")]
    pub(crate) fn avx2<R>(kernel: impl FnOnce() -> R) -> R {
        kernel()
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    pub(crate) fn avx512<R>(kernel: impl FnOnce() -> R) -> R {
        kernel()
    }
}

/// Tests run the kernels at each level the CPU has, by capping the level
/// process-wide (rayon's threads see it) while they hold a lock.
#[cfg(test)]
pub(crate) mod cap {
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::{Mutex, MutexGuard};

    use super::Isa;

    const NONE: u8 = u8::MAX;
    static CAP: AtomicU8 = AtomicU8::new(NONE);
    static HELD: Mutex<()> = Mutex::new(());

    pub(super) fn get() -> Option<Isa> {
        match CAP.load(Ordering::Relaxed) {
            0 => Some(Isa::Portable),
            1 => Some(Isa::Avx2),
            2 => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// The levels this CPU runs, narrowest first.
    pub(crate) fn available() -> Vec<Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|&isa| isa <= Isa::detected())
            .collect()
    }

    /// `f()` with the loops at `isa` (at most what the CPU has).
    pub(crate) fn at<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
        let _held: MutexGuard<()> = HELD.lock().unwrap_or_else(|e| e.into_inner());
        CAP.store(isa as u8, Ordering::Relaxed);
        let reset = Reset;
        let result = f();
        drop(reset);
        result
    }

    /// Lifts the cap, also when a test's assertion fails.
    struct Reset;

    impl Drop for Reset {
        fn drop(&mut self) {
            CAP.store(NONE, Ordering::Relaxed);
        }
    }
}
