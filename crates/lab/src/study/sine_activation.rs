//! Study 1: the report's sine fit with the hand-written BP network: each
//! setting and seed one fit (`trainer scratch --task sine --out`), then the
//! figures and the section from the saved fits.

use anyhow::Result;
use backprop::Activation;
use std::path::{Path, PathBuf};

use super::budget::Budget;
use super::difference::{Difference, sig};
use super::findings::verdict;
use super::name::StudyName;
use super::outcome::{mean_sd, pm};
use super::plan::{Job, PlannedRun};
use super::section::Section;
use crate::plot::{self, Chart, Line, Panel};
use crate::scratch::{SineConfig, SineFit, Training};

use plotters::prelude::SeriesLabelPosition;

/// The report's mean absolute test error with LeakyReLU after 800 epochs.
const REPORT_MAE: f64 = 0.0064;

struct Setting {
    activation: Activation,
    epochs: usize,
}

impl Setting {
    /// "LeakyReLU, 800 epochs", with the epochs actually run.
    fn label(&self, budget: &Budget) -> String {
        let name = match self.activation {
            Activation::Sigmoid => "sigmoid",
            _ => "LeakyReLU",
        };
        format!("{name}, {} epochs", epochs(self.epochs, budget))
    }
}

/// --quick: a twentieth of the epochs.
fn epochs(epochs: usize, budget: &Budget) -> usize {
    if budget.quick { epochs / 20 } else { epochs }
}

const SETTINGS: [Setting; 3] = [
    Setting {
        activation: Activation::LeakyRelu,
        epochs: 800,
    },
    Setting {
        activation: Activation::Sigmoid,
        epochs: 800,
    },
    Setting {
        activation: Activation::Sigmoid,
        epochs: 1000,
    },
];

/// The fit of `setting` with `seed`, as the study trains it.
fn config(setting: &Setting, seed: u64, budget: &Budget) -> SineConfig {
    let defaults = SineConfig::default();
    let full = defaults.points;
    SineConfig {
        training: Training {
            activation: setting.activation,
            epochs: epochs(setting.epochs, budget),
            seed,
            ..defaults.training
        },
        points: if budget.quick { full / 10 } else { full },
        ..defaults
    }
}

/// The folder of one fit: `runs/<setting>-seed<seed>`.
fn folder(dir: &Path, setting: &Setting, seed: u64, budget: &Budget) -> PathBuf {
    let slug = setting
        .label(budget)
        .replace([',', ' '], "-")
        .to_lowercase();
    dir.join("runs").join(format!("{slug}-seed{seed}"))
}

/// The study's fits: every setting with every seed.
pub fn plan(dir: &Path, budget: &Budget) -> Vec<PlannedRun> {
    let mut runs = Vec::new();
    for setting in &SETTINGS {
        for &seed in &budget.seeds {
            runs.push(PlannedRun {
                study: StudyName::Sine,
                label: setting.label(budget),
                seed,
                dir: folder(dir, setting, seed, budget),
                job: Job::Sine(config(setting, seed, budget)),
            });
        }
    }
    runs
}

/// Draws and reports the study from its finished fits in `dir`.
pub fn section(dir: &Path, budget: &Budget) -> Result<Section> {
    let points = config(&SETTINGS[0], 1, budget).points;
    let fits = SETTINGS
        .iter()
        .map(|setting| {
            (budget.seeds.iter())
                .map(|&seed| SineFit::load(&folder(dir, setting, seed, budget)))
                .collect::<Result<Vec<SineFit>>>()
        })
        .collect::<Result<Vec<Vec<SineFit>>>>()?;
    draw(dir, &fits, budget)?;

    let table = table(&fits, budget);
    let comparison = comparison(&fits);
    let seconds: Vec<f64> = fits.iter().flatten().map(|f| f.seconds).collect();
    Ok(Section {
        runs: seconds.len(),
        train_seconds: seconds.iter().sum(),
        name: "sine",
        title: "Sine fit: LeakyReLU vs sigmoid".into(),
        setup: vec![
            "hand-written BP network (`backprop` crate, no autodiff), layers [1, 16, 32, 1], MSE".into(),
            format!(
                "{points} random training points on [-π, π], test on 1000 evenly spaced points; \
                 plain mini-batch SGD, batch 16, lr 0.01; epochs {}",
                SETTINGS.map(|s| epochs(s.epochs, budget).to_string()).join(" / ")
            ),
        ],
        table,
        figures: vec![
            ("sin x and each fit (first seed)".into(), "fit.png".into()),
            ("training loss and test error per epoch (mean of seeds)".into(), "loss.png".into()),
        ],
        claim: "LeakyReLU with batch 16, lr 0.01 and 800 epochs fits sin x with a mean test error of 0.0064; \
                sigmoid with the same settings is visibly off, and 1000 epochs improve it: sigmoid saturates, \
                so it learns more slowly."
            .into(),
        comparison,
    })
}

/// One row per setting: errors and time per run over the seeds.
fn table(fits: &[Vec<SineFit>], budget: &Budget) -> String {
    let mut table = String::from(
        "| setting | mean abs. test error | max abs. error | s per run |\n|---|---|---|---|\n",
    );
    for (setting, runs) in SETTINGS.iter().zip(fits) {
        let max: Vec<f64> = runs.iter().map(|f| f.max_error).collect();
        let seconds: Vec<f64> = runs.iter().map(|f| f.seconds).collect();
        table += &format!(
            "| {} | {} | {} | {:.1} |\n",
            setting.label(budget),
            pm(&runs.iter().map(SineFit::mae).collect::<Vec<_>>(), 5),
            pm(&max, 4),
            mean_sd(&seconds).0
        );
    }
    table
}

/// The section's reading of the table against the report's claim.
fn comparison(fits: &[Vec<SineFit>]) -> String {
    let mae = |i: usize| fits[i].iter().map(SineFit::mae).collect::<Vec<_>>();
    let (leaky, _) = mean_sd(&mae(0));
    let sigmoid_vs_leaky = Difference::of(&mae(1), &mae(0));
    let longer = Difference::of(&mae(1), &mae(2));
    format!(
        "LeakyReLU reaches a mean absolute test error of {}, {} the report's {REPORT_MAE}. \
         Sigmoid with the same epochs ends with an error {} than LeakyReLU's ({}): on sigmoid learning \
         more slowly the run {}. At 1000 epochs sigmoid's error is {} than at 800 (the error at 800 is {}): \
         on the longer run improving the fit the run {}.",
        sig(leaky),
        if leaky <= REPORT_MAE {
            "at or below"
        } else {
            "above"
        },
        if sigmoid_vs_leaky.diff > 0.0 {
            "higher"
        } else {
            "lower"
        },
        sigmoid_vs_leaky.describe(""),
        verdict(&sigmoid_vs_leaky),
        if longer.diff > 0.0 { "lower" } else { "higher" },
        longer.describe(""),
        verdict(&longer),
    )
}

fn draw(dir: &Path, fits: &[Vec<SineFit>], budget: &Budget) -> Result<()> {
    draw_fit(dir, fits, budget)?;
    draw_loss(dir, fits, budget)
}

/// `fit.png`: sin x and each setting's fit (its first seed).
fn draw_fit(dir: &Path, fits: &[Vec<SineFit>], budget: &Budget) -> Result<()> {
    let mut lines = vec![Line::new(
        "sin x",
        plot::TRUTH,
        fits[0][0].x.iter().map(|&x| (x, x.sin())).collect(),
    )];
    for ((setting, runs), color) in SETTINGS.iter().zip(fits).zip(plot::PALETTE) {
        let first = &runs[0];
        lines.push(Line::new(
            setting.label(budget),
            color,
            first
                .x
                .iter()
                .copied()
                .zip(first.prediction.iter().copied())
                .collect(),
        ));
    }
    let fit_chart = Chart {
        x_label: "x",
        y_label: "y",
        y_range: Some(-1.25..1.25),
        log_y: false,
        columns: 1,
        legend: SeriesLabelPosition::UpperLeft,
    };
    plot::draw(
        &dir.join("fit.png"),
        &fit_chart,
        &[Panel {
            title: "sin x and the fits".into(),
            lines,
        }],
    )
}

/// `loss.png`: training loss and test error per epoch, mean of the seeds.
fn draw_loss(dir: &Path, fits: &[Vec<SineFit>], budget: &Budget) -> Result<()> {
    let mean_curve = |runs: &[SineFit], of: fn(&SineFit) -> &Vec<f64>| -> Vec<(f64, f64)> {
        (0..of(&runs[0]).len())
            .map(|i| {
                let ys: Vec<f64> = runs.iter().map(|r| of(r)[i]).collect();
                ((i + 1) as f64, mean_sd(&ys).0)
            })
            .collect()
    };
    let panel = |title: &str, of: fn(&SineFit) -> &Vec<f64>| Panel {
        title: title.into(),
        lines: SETTINGS
            .iter()
            .zip(fits)
            .zip(plot::PALETTE)
            .map(|((s, runs), color)| Line::new(s.label(budget), color, mean_curve(runs, of)))
            .collect(),
    };
    let loss_chart = Chart {
        x_label: "epoch",
        y_label: "log scale",
        y_range: None,
        log_y: true,
        columns: 2,
        legend: SeriesLabelPosition::UpperRight,
    };
    plot::draw(
        &dir.join("loss.png"),
        &loss_chart,
        &[
            panel("training MSE", |f| &f.train_mse),
            panel("mean |error| on the test points", |f| &f.test_mae),
        ],
    )
}
