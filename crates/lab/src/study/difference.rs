//! The difference between two settings over seeds, and whether the seeds
//! resolve it.

use super::outcome::{Outcome, mean_sd};

/// How two settings compare over seeds, in words with the numbers.
pub struct Difference {
    pub diff: f64,
    pub spread: f64,
    /// Seeds behind the smaller side: one seed has no spread to judge by.
    pub seeds: usize,
}

impl Difference {
    /// `a - b` of the per-seed figures, and the seeds' spread (the two
    /// standard deviations added): a difference inside it is not resolved.
    pub fn of(a: &[f64], b: &[f64]) -> Difference {
        let (ma, sa) = mean_sd(a);
        let (mb, sb) = mean_sd(b);
        Difference {
            diff: ma - mb,
            spread: sa + sb,
            seeds: a.len().min(b.len()),
        }
    }

    /// `a` against `b` on validation accuracy after the first epoch (how
    /// fast) and after the last (how far).
    pub fn start_and_end(a: &Outcome, b: &Outcome) -> (Difference, Difference) {
        (
            Difference::of(&a.first_valid(), &b.first_valid()),
            Difference::of(&a.final_valid(), &b.final_valid()),
        )
    }

    pub fn clear(&self) -> bool {
        self.seeds >= 2 && self.diff.abs() > self.spread
    }

    /// "2.31 points higher (beyond the seeds' spread of 0.40)"; `unit` may be empty.
    pub fn describe(&self, unit: &str) -> String {
        let direction = if self.diff >= 0.0 { "higher" } else { "lower" };
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        let spread = if self.seeds < 2 {
            "one seed, so no spread to judge it by".to_string()
        } else if self.clear() {
            format!("beyond the seeds' spread of {}", sig(self.spread))
        } else {
            format!("within the seeds' spread of {}", sig(self.spread))
        };
        format!("{}{unit} {direction} ({spread})", sig(self.diff.abs()))
    }
}

/// `v` with two decimals, or three significant digits when it is small.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || v.abs() >= 1.0 {
        return format!("{v:.2}");
    }
    let decimals = ((-v.abs().log10()).floor() as usize + 3).min(8);
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::outcome::pm;

    #[test]
    fn statistics_over_seeds() {
        assert_eq!(mean_sd(&[2.0]), (2.0, 0.0));
        let (m, s) = mean_sd(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
        assert_eq!(pm(&[1.0, 2.0, 3.0], 1), "2.0 ± 1.0");
        assert_eq!(pm(&[97.5], 2), "97.50");
        let d = Difference::of(&[90.0, 91.0, 92.0], &[80.0, 81.0, 82.0]);
        assert!(d.clear() && (d.diff - 10.0).abs() < 1e-12);
        assert!(!Difference::of(&[90.0, 92.0], &[91.0, 91.5]).clear());
        // One seed resolves nothing, however large the difference.
        assert!(!Difference::of(&[99.0], &[10.0]).clear());
        assert_eq!(
            d.describe("points"),
            "10.00 points higher (beyond the seeds' spread of 2.00)"
        );
        assert_eq!(sig(0.0064), "0.00640");
        assert_eq!(sig(0.25), "0.250");
    }
}
