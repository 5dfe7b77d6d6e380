//! A study's settings and the runs of each, one per seed, with the figures
//! the report quotes (final, best, first-epoch accuracy, jitter, time).

use hanzi12::Recipe;
use hanzi12::metrics::{EpochRow, Split};
use std::path::PathBuf;

/// One setting of a study.
#[derive(Clone)]
pub struct Variant {
    pub label: String,
    pub recipe: Recipe,
}

impl Variant {
    pub fn new(label: impl Into<String>, recipe: Recipe) -> Variant {
        Variant {
            label: label.into(),
            recipe,
        }
    }
}

/// One finished run: its folder, settings and per-epoch figures.
pub struct Run {
    pub dir: PathBuf,
    pub recipe: Recipe,
    pub rows: Vec<EpochRow>,
}

impl Run {
    /// `(epoch, accuracy %)` of `split`.
    pub fn accuracy(&self, split: Split) -> Vec<(f64, f64)> {
        self.rows
            .iter()
            .filter(|r| r.split == split)
            .map(|r| (r.epoch as f64, r.accuracy))
            .collect()
    }

    pub fn last(&self, split: Split) -> f64 {
        self.accuracy(split).last().map_or(f64::NAN, |p| p.1)
    }

    pub fn seconds(&self) -> f64 {
        self.rows.iter().map(|r| r.seconds).sum()
    }
}

/// A setting and its runs, one per seed.
pub struct Outcome {
    pub variant: Variant,
    pub runs: Vec<Run>,
}

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// A figure over seeds: "mean ± sd".
pub fn pm(values: &[f64], decimals: usize) -> String {
    let (mean, sd) = mean_sd(values);
    if values.len() < 2 {
        format!("{mean:.decimals$}")
    } else {
        format!("{mean:.decimals$} ± {sd:.decimals$}")
    }
}

impl Outcome {
    fn per_run(&self, f: impl Fn(&Run) -> f64) -> Vec<f64> {
        self.runs.iter().map(f).collect()
    }

    /// Validation accuracy after the last epoch, per seed.
    pub fn final_valid(&self) -> Vec<f64> {
        self.per_run(|r| r.last(Split::Valid))
    }

    /// Validation loss after the last epoch, per seed.
    pub fn final_valid_loss(&self) -> Vec<f64> {
        self.per_run(|r| {
            r.rows
                .iter()
                .rfind(|row| row.split == Split::Valid)
                .map_or(f64::NAN, |row| row.loss)
        })
    }

    pub fn final_train(&self) -> Vec<f64> {
        self.per_run(|r| r.last(Split::Train))
    }

    pub fn best_valid(&self) -> Vec<f64> {
        self.per_run(|r| {
            r.accuracy(Split::Valid)
                .iter()
                .map(|p| p.1)
                .fold(0.0, f64::max)
        })
    }

    /// Validation accuracy after the first epoch: how fast it learns.
    pub fn first_valid(&self) -> Vec<f64> {
        self.per_run(|r| r.accuracy(Split::Valid).first().map_or(f64::NAN, |p| p.1))
    }

    /// How much validation accuracy jumps between epochs in the second half
    /// of training: the mean absolute change, in points.
    pub fn late_jitter(&self) -> Vec<f64> {
        self.per_run(|r| {
            let valid: Vec<f64> = r.accuracy(Split::Valid).iter().map(|p| p.1).collect();
            let late = &valid[valid.len() / 2..];
            let steps: Vec<f64> = late.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
            if steps.is_empty() {
                0.0
            } else {
                steps.iter().sum::<f64>() / steps.len() as f64
            }
        })
    }

    pub fn seconds(&self) -> Vec<f64> {
        self.per_run(Run::seconds)
    }

    /// The mean curve over seeds (epochs that every seed reached).
    pub fn mean_curve(&self, split: Split) -> Vec<(f64, f64)> {
        let curves: Vec<Vec<(f64, f64)>> = self.runs.iter().map(|r| r.accuracy(split)).collect();
        let len = curves.iter().map(Vec::len).min().unwrap_or(0);
        (0..len)
            .map(|i| {
                let ys: Vec<f64> = curves.iter().map(|c| c[i].1).collect();
                (curves[0][i].0, mean_sd(&ys).0)
            })
            .collect()
    }
}
