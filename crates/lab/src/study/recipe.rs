//! `study recipe`: what each ingredient of the main job's recipe buys on
//! handwriting the network never trained on. Training ingredients are
//! settings of the grid (each over the seeds); inference ingredients
//! (test-time shifts, an ensemble of the seeds' runs) are scored on the
//! same held-out images with the default setting's runs.

use anyhow::Result;
use dataset::{AugmentConfig, AugmentScheme, Hanzi12};
use models::{ModelConfig, ModelOptions};
use std::path::PathBuf;

use hanzi12::Recipe;
use hanzi12::infer::{self, Ensemble, Views};

use super::budget::Budget;
use super::difference::Difference;
use super::outcome::{Outcome, Variant, pm};

/// The label of the main job's own setting, which the others are measured against.
pub const DEFAULT: &str = "default: normalised, random view";

/// The main job's network trained as `trainer --model cnn_res` trains it
/// (the main job's recipe), on the study's data for its epochs.
fn main_job(budget: &Budget) -> Recipe {
    let model = ModelConfig::from_name("cnn_res", &ModelOptions::default()).expect("cnn_res");
    Recipe {
        epochs: budget.cnn_epochs,
        ..Recipe::new(model, budget.data.clone())
    }
}

/// The main job's recipe, and each training ingredient taken out or added.
pub fn variants(budget: &Budget) -> Vec<Variant> {
    let base = main_job(budget);
    vec![
        Variant::new(
            "raw 28x28 boxes (course)",
            Recipe {
                normalise: None,
                ..base.clone()
            },
        ),
        Variant::new(DEFAULT, base.clone()),
        Variant::new(
            "+ handwriting augmentation",
            Recipe {
                augment: AugmentConfig::new().with_scheme(AugmentScheme::Handwriting),
                ..base.clone()
            },
        ),
        Variant::new(
            "+ label smoothing 0.1",
            Recipe {
                label_smoothing: Some(0.1),
                ..base
            },
        ),
    ]
}

pub const CLAIM: &str = "Not in the course report: this project's own recipe for reading handwriting \
                         it has never seen (normalised size and position, augmentation, label smoothing, \
                         test-time shifts, ensembles), each ingredient measured on and off.";

/// The default setting's runs, one at a time and together, each with and
/// without test-time shifts, scored on `valid`: a markdown table.
pub fn inference_table(outcomes: &[Outcome], valid: &Hanzi12, budget: &Budget) -> Result<String> {
    let default = outcomes
        .iter()
        .find(|o| o.variant.label == DEFAULT)
        .expect("the recipe study trains its default");
    let runs: Vec<PathBuf> = default.runs.iter().map(|r| r.dir.clone()).collect();
    let score = |runs: &[PathBuf], views: Views| -> Result<f64> {
        let ensemble = Ensemble::load(runs, budget.backend, views)?;
        Ok(100.0 * infer::evaluate(&ensemble, valid)?.accuracy)
    };
    let mut text = format!(
        "\n| the default's runs (best-loss weights) on the {} held-out images | accuracy % |\n|---|---|\n",
        valid.items().len()
    );
    for (label, views) in [
        ("one run", Views::One),
        ("one run, 5 shifted views", Views::Shifts),
    ] {
        let each = runs
            .iter()
            .map(|run| score(std::slice::from_ref(run), views))
            .collect::<Result<Vec<f64>>>()?;
        text += &format!("| {label} | {} |\n", pm(&each, 2));
    }
    if runs.len() > 1 {
        let n = runs.len();
        text += &format!(
            "| ensemble of the {n} seeds' runs | {:.2} |\n",
            score(&runs, Views::One)?
        );
        text += &format!(
            "| ensemble of the {n} seeds' runs, 5 shifted views | {:.2} |\n",
            score(&runs, Views::Shifts)?
        );
    }
    Ok(text)
}

/// Each training ingredient against the default, on the last epoch's
/// validation accuracy.
pub fn compare(outcomes: &[Outcome]) -> String {
    let default = outcomes.iter().find(|o| o.variant.label == DEFAULT);
    let Some(default) = default else {
        return String::new();
    };
    let mut lines = Vec::new();
    for other in outcomes.iter().filter(|o| o.variant.label != DEFAULT) {
        let d = Difference::of(&other.final_valid(), &default.final_valid());
        lines.push(format!(
            "{}: {} ({} against {})",
            other.variant.label,
            d.describe("points"),
            pm(&other.final_valid(), 2),
            pm(&default.final_valid(), 2),
        ));
    }
    format!(
        "Against the default setting, on the last epoch's validation accuracy: {}. \
         The second table shows what averaging adds at inference.",
        lines.join("; ")
    )
}
