//! The widest vector unit the CPU has, chosen at run time.
//!
//! The kernels' loops are plain Rust that the compiler vectorises, and a
//! default build targets baseline x86-64: SSE2, four f32 lanes. A loop run
//! through [`widest`] is compiled three times, for AVX-512, for AVX2 with
//! FMA and for the baseline, and the copy this CPU can run is picked at
//! each call (the features are detected once and cached by `std`), so one
//! binary uses what each machine has. The results are the same to the bit
//! on every path: the sums keep their explicit lanes (`lanes.rs`), and
//! Rust never fuses a multiply and an add unless asked. The tests run each
//! path this CPU has ([`each_unit`]).

/// A vector unit a loop can be compiled for, narrowest first.
// Off x86-64 only the baseline exists (NEON on AArch64): nothing is chosen
// outside the tests.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Unit {
    Baseline,
    Avx2,
    Avx512,
}

/// The widest unit this CPU has.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn widest_here() -> Unit {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
        {
            return Unit::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Unit::Avx2;
        }
    }
    Unit::Baseline
}

/// Runs `work`, compiled for the widest vector unit this CPU has. `work`
/// (and what it calls) must be inlined into the chosen copy to gain from
/// it: pass a closure marked `#[inline(always)]`, calling
/// `#[inline(always)]` helpers.
#[inline(always)]
pub(super) fn widest<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match chosen() {
        // SAFETY: `chosen` picks only units this CPU has.
        Unit::Avx512 => return unsafe { on_avx512(work) },
        // SAFETY: as above.
        Unit::Avx2 => return unsafe { on_avx2(work) },
        Unit::Baseline => {}
    }
    work()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn on_avx512<R>(work: impl FnOnce() -> R) -> R {
    work()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<R>(work: impl FnOnce() -> R) -> R {
    work()
}

#[cfg(not(test))]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
fn chosen() -> Unit {
    widest_here()
}

/// In tests, the widest unit [`each_unit`] allows at the moment.
#[cfg(test)]
static CAP: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(Unit::Avx512 as u8);

#[cfg(test)]
fn chosen() -> Unit {
    let cap = match CAP.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Unit::Baseline,
        1 => Unit::Avx2,
        _ => Unit::Avx512,
    };
    widest_here().min(cap)
}

/// Runs `f` once for each unit this CPU has, narrowest first, with
/// [`widest`] held to that unit (process-wide: tests running meanwhile may
/// take a narrower path, which gives the same bits). One caller at a time.
#[cfg(test)]
pub(crate) fn each_unit(mut f: impl FnMut(Unit)) {
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for unit in [Unit::Baseline, Unit::Avx2, Unit::Avx512] {
        if unit <= widest_here() {
            CAP.store(unit as u8, Ordering::Relaxed);
            f(unit);
        }
    }
    CAP.store(Unit::Avx512 as u8, Ordering::Relaxed);
}
