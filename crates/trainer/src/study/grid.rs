//! A study's settings, each trained over several seeds with the main job's
//! `train` (Burn's `Learner`), and what their curves say.

use anyhow::{Context, Result};
use burn::train::Interrupter;
use std::path::{Path, PathBuf};

use super::plot::{self, Chart, Line, Panel};
use crate::config::TrainConfig;
use crate::metrics::{EpochRow, Split};
use crate::run_dir::RunDir;
use crate::train::{self, Launch};
use plotters::prelude::SeriesLabelPosition;

/// One setting of a study.
#[derive(Clone)]
pub struct Variant {
    pub label: String,
    pub config: TrainConfig,
}

impl Variant {
    pub fn new(label: impl Into<String>, config: TrainConfig) -> Variant {
        Variant {
            label: label.into(),
            config,
        }
    }
}

/// One finished run: its folder, settings and per-epoch figures.
pub struct Run {
    pub dir: PathBuf,
    pub config: TrainConfig,
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

    fn last(&self, split: Split) -> f64 {
        self.accuracy(split).last().map_or(f64::NAN, |p| p.1)
    }

    fn seconds(&self) -> f64 {
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
    fn mean_curve(&self, split: Split) -> Vec<(f64, f64)> {
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

/// Folder name of a run: readable, and different whenever the settings are,
/// so a changed study never mixes with (or overwrites) earlier results.
fn run_folder(label: &str, config: &TrainConfig) -> String {
    let slug: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    // FNV-1a: stable across Rust versions, unlike std's hasher.
    let hash = config
        .to_string()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
    format!("{slug}-seed{}-{:08x}", config.seed, hash as u32)
}

/// Trains every variant with every seed under `dir/runs/`, reusing runs that
/// finished earlier and resuming ones that were cut off.
pub fn run_all(
    dir: &Path,
    variants: &[Variant],
    seeds: &[u64],
    launch: Launch,
    interrupter: &Interrupter,
) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for variant in variants {
        let mut runs = Vec::new();
        for &seed in seeds {
            let mut config = variant.config.clone();
            config.seed = seed;
            let run = RunDir::new(dir.join("runs").join(run_folder(&variant.label, &config)));
            if run.finished(config.epochs) {
                println!(
                    "{}: seed {seed} finished earlier, reused ({})",
                    variant.label,
                    run.path().display()
                );
            } else {
                println!(
                    "--- {}: seed {seed} -> {}",
                    variant.label,
                    run.path().display()
                );
                let launch = Launch {
                    resume: run.holds_a_run(),
                    ..launch
                };
                let outcome = train::train(&config, &run, launch, interrupter.clone())
                    .with_context(|| format!("{} (seed {seed})", variant.label))?;
                if let Some(reason) = outcome.stopped_early {
                    anyhow::bail!(
                        "{} (seed {seed}) stopped: {reason}; run the study again to continue",
                        variant.label
                    );
                }
            }
            runs.push(Run {
                rows: run.rows(),
                dir: run.path().to_path_buf(),
                config,
            });
        }
        outcomes.push(Outcome {
            variant: variant.clone(),
            runs,
        });
    }
    Ok(outcomes)
}

/// The table of final figures, one row per setting.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut text = String::from(
        "| setting | valid acc % (last epoch) | best valid acc % | train acc % (last epoch) | valid acc % after epoch 1 | late jitter (points) | s per run |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        text += &format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} |\n",
            o.variant.label,
            pm(&o.final_valid(), 2),
            pm(&o.best_valid(), 2),
            pm(&o.final_train(), 2),
            pm(&o.first_valid(), 1),
            pm(&o.late_jitter(), 2),
            mean_sd(&o.seconds()).0,
        );
    }
    text
}

/// One panel per setting: training accuracy red, validation blue; each seed
/// pale, their mean bold (the report's figures, with seeds).
pub fn accuracy_figure(path: &Path, outcomes: &[Outcome]) -> Result<()> {
    let panels: Vec<Panel> = outcomes
        .iter()
        .map(|o| {
            let mut lines = Vec::new();
            for run in &o.runs {
                lines.push(Line::faint(plot::TRAIN, run.accuracy(Split::Train)));
                lines.push(Line::faint(plot::VALID, run.accuracy(Split::Valid)));
            }
            lines.push(Line::new("train", plot::TRAIN, o.mean_curve(Split::Train)));
            lines.push(Line::new(
                "validation",
                plot::VALID,
                o.mean_curve(Split::Valid),
            ));
            Panel {
                title: o.variant.label.clone(),
                lines,
            }
        })
        .collect();
    let floor = outcomes
        .iter()
        .flat_map(|o| o.runs.iter())
        .flat_map(|r| r.rows.iter().map(|row| row.accuracy))
        .fold(100.0, f64::min);
    let chart = Chart {
        x_label: "epoch",
        y_label: "accuracy %",
        y_range: Some((floor - 2.0).clamp(0.0, 95.0)..100.5),
        log_y: false,
        columns: outcomes.len().min(4),
        legend: SeriesLabelPosition::LowerRight,
    };
    plot::draw(path, &chart, &panels)
}

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

    #[test]
    fn run_folders_follow_the_settings() {
        let config = |seed| {
            TrainConfig::new(
                models::ModelConfig::from_name("mlp", &Default::default()).unwrap(),
                crate::data::DataSource::Synthetic {
                    per_class: 10,
                    seed: 1,
                },
            )
            .with_seed(seed)
        };
        let a = run_folder("mlp (256, 128)", &config(1));
        assert!(a.starts_with("mlp--256--128--seed1-"), "{a}");
        assert_eq!(a, run_folder("mlp (256, 128)", &config(1)));
        assert_ne!(a, run_folder("mlp (256, 128)", &config(2)));
        assert_ne!(a, run_folder("mlp (256, 128)", &config(1).with_lr(0.5)));
    }
}
