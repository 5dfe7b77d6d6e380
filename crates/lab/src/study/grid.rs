//! A study's grid of settings and seeds: where each run lives, and the
//! finished runs tabled and drawn.

use anyhow::Result;
use hanzi12::metrics::Split;
use hanzi12::{Recipe, RunDir};
use plotters::prelude::SeriesLabelPosition;
use std::path::Path;

use super::outcome::{Outcome, Run, Variant, mean_sd, pm};
use crate::plot::{self, Chart, Line, Panel};

/// The runs of one setting, one per seed, each in its own folder under
/// `dir/runs/`, named after its settings.
pub fn runs_of(dir: &Path, variant: &Variant, seeds: &[u64]) -> Vec<(Recipe, RunDir)> {
    seeds
        .iter()
        .map(|&seed| {
            let recipe = Recipe {
                seed,
                ..variant.recipe.clone()
            };
            let run = RunDir::for_setting(&dir.join("runs"), &variant.label, &recipe);
            (recipe, run)
        })
        .collect()
}

/// Every setting with its finished runs, read from their folders.
pub fn outcomes(dir: &Path, variants: &[Variant], seeds: &[u64]) -> Vec<Outcome> {
    variants
        .iter()
        .map(|variant| Outcome {
            variant: variant.clone(),
            runs: runs_of(dir, variant, seeds)
                .into_iter()
                .map(|(recipe, run)| Run {
                    rows: run.rows(),
                    dir: run.path().to_path_buf(),
                    recipe,
                })
                .collect(),
        })
        .collect()
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
