//! The writers' random numbers: one generator per sample, seeded from
//! `(seed, class, n)` alone, and the draws the writers make from it.

use std::f64::consts::PI;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::seed;

/// Salt of the synthetic samples' seeds ("Hanzi12!" in ASCII), so that they
/// differ from the seeds of anything else drawn from the same run seed.
const SALT: u64 = 0x4861_6e7a_6931_3221;

/// The generator of sample `n` of class `class` for `seed`.
pub(super) fn sample_rng(seed: u64, class: usize, n: usize) -> StdRng {
    StdRng::seed_from_u64(seed::chain(seed ^ SALT, &[class as u64, n as u64]))
}

/// A normal draw with mean 0 and sd `sd`, clamped to +-2.5 sd.
pub(super) fn normal(rng: &mut StdRng, sd: f64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-12);
    let u2: f64 = rng.random::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos();
    z.clamp(-2.5, 2.5) * sd
}

/// A uniform draw from `lo..hi`; `lo` itself, drawing nothing, when the range
/// is empty.
pub(super) fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        rng.random_range(lo..hi)
    } else {
        lo
    }
}
