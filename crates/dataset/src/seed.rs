//! Seeds for random number generators, derived from the numbers that name
//! what is drawn (a run's seed, an epoch and an item; a data set's seed, a
//! class and a sample), so that anything can be drawn alone, in any order,
//! on any thread, and the same numbers always draw the same.
//!
//! One hash serves all: SplitMix64's output function, which turns nearby
//! inputs into unrelated outputs.

/// SplitMix64's increment (2^64 divided by the golden ratio).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea and Flood, 2014): a bijection
/// of `u64` whose every output bit depends on every input bit.
fn scramble(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One seed from three numbers at once: the seed of item `c` of epoch `b`
/// for run seed `a` (augmentation), or of round `b` of a shuffle key `a`.
pub(crate) fn mix(a: u64, b: u64, c: u64) -> u64 {
    scramble(a ^ b.wrapping_mul(GOLDEN) ^ c.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
}

/// One seed from `start` and then each of `parts` in turn: a SplitMix64 step
/// after each (the synthetic samples' seeds).
pub(crate) fn chain(start: u64, parts: &[u64]) -> u64 {
    let step = |h: u64| scramble(h.wrapping_add(GOLDEN));
    parts.iter().fold(step(start), |h, &part| step(h ^ part))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs of SplitMix64 seeded with 0, as published with the
    /// generator (state += GOLDEN, then scramble).
    #[test]
    fn chain_steps_are_splitmix64() {
        assert_eq!(chain(0, &[]), 0xE220_A839_7B1D_CDAF);
        assert_eq!(
            chain(0, &[0xE220_A839_7B1D_CDAF ^ GOLDEN]),
            0x6E78_9E6A_A1B9_65F4
        );
    }

    #[test]
    fn nearby_inputs_give_unrelated_seeds() {
        let seeds = [mix(1, 0, 0), mix(1, 0, 1), mix(1, 1, 0), mix(2, 0, 0)];
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert!((a ^ b).count_ones() > 16, "{a:x} {b:x}");
            }
        }
        assert_ne!(chain(1, &[2, 3]), chain(1, &[3, 2]));
    }
}
