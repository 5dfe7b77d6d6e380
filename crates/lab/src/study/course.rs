//! Studies 2–8: the report's experiments on the 12 characters, trained with
//! the main job's `train` (Burn's `Learner`): the settings over the seeds
//! as planned runs, then, once they finished, the curves and the section.

use anyhow::Result;
use burn::data::dataset::Dataset;
use hanzi12::recipe::{Execution, OptimizerKind, Recipe, RunSettings, Schedule};
use std::path::Path;

use super::budget::Budget;
use super::designs::design;
use super::grid;
use super::name::StudyName;
use super::outcome::{Outcome, Variant};
use super::plan::{Job, PlannedRun};
use super::section::Section;
use super::{recipe, variance_shift};

/// The runs of study `name` in `dir`: every setting with every seed.
pub fn plan(name: StudyName, dir: &Path, budget: &Budget) -> Vec<PlannedRun> {
    // The variance shift is measured on every epoch's checkpoint.
    let keep_every_epoch = name == StudyName::Regularise;
    let design = design(name, budget);
    let execution = Execution {
        backend: budget.backend,
        keep_every_epoch,
        ..Execution::default()
    };
    let mut runs = Vec::new();
    for variant in &design.variants {
        for (recipe, run) in grid::runs_of(dir, variant, &budget.seeds) {
            let folder = run.path().file_name().expect("a run folder has a name");
            let recipe_file = dir.join("recipes").join(folder).with_extension("json");
            runs.push(PlannedRun {
                study: name,
                label: variant.label.clone(),
                seed: recipe.seed,
                dir: run.path().to_path_buf(),
                job: Job::Train {
                    settings: RunSettings {
                        recipe,
                        execution: execution.clone(),
                    },
                    recipe_file,
                },
            });
        }
    }
    runs
}

/// Draws and reports study `name` from its finished runs in `dir`.
pub fn section(name: StudyName, dir: &Path, budget: &Budget) -> Result<Section> {
    let design = design(name, budget);
    let regularise = name == StudyName::Regularise;
    let outcomes = grid::outcomes(dir, &design.variants, &budget.seeds);
    grid::accuracy_figure(&dir.join("accuracy.png"), &outcomes)?;
    let mut figures = vec![(
        "training (red) and validation (blue) accuracy per epoch; pale: each seed, bold: their mean".to_string(),
        "accuracy.png".to_string(),
    )];
    let mut table = grid::table(&outcomes);
    let mut comparison = (design.compare)(&outcomes);
    // Every setting of a study trains on the same data and split.
    let first = &outcomes[0].runs[0].recipe;
    let (train, valid) = first.data.load()?.split(first.valid_ratio);
    if regularise {
        let shifts = variance_shift::shifts(&outcomes, &valid, budget)?;
        variance_shift::draw(&dir.join("variance_shift.png"), &outcomes, &shifts)?;
        figures.push((
            "variance shift per epoch at the second BatchNorm's input (mean of seeds)".to_string(),
            "variance_shift.png".to_string(),
        ));
        table += &variance_shift::table(&outcomes, &shifts);
        comparison += &variance_shift::compare(&outcomes, &shifts);
    }
    if name == StudyName::Recipe {
        table += &recipe::inference_table(&outcomes, &valid, budget)?;
    }
    let seconds: Vec<f64> = outcomes.iter().flat_map(Outcome::seconds).collect();
    Ok(Section {
        runs: seconds.len(),
        train_seconds: seconds.iter().sum(),
        name: name.folder(),
        title: design.title.to_string(),
        setup: setup(first, &design.variants, [train.len(), valid.len()], budget),
        table,
        figures,
        claim: design.claim.to_string(),
        comparison,
    })
}

/// The settings shared by the study, in words.
fn setup(
    config: &Recipe,
    variants: &[Variant],
    [train, valid]: [usize; 2],
    budget: &Budget,
) -> Vec<String> {
    let optimizer = match config.optimizer {
        OptimizerKind::Sgd if config.momentum == 0.0 => "plain SGD".to_string(),
        OptimizerKind::Sgd => format!("SGD, momentum {}", config.momentum),
        OptimizerKind::Adam => "Adam".to_string(),
    };
    let schedule = match config.schedule {
        Schedule::Constant => "constant",
        Schedule::Cosine => "cosine decay to 0",
    };
    // Settings that differ only in training share a network: named once.
    let mut networks: Vec<String> = Vec::new();
    for variant in variants {
        let network = format!("`{}`", variant.recipe.model.describe());
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    let networks = match networks.len() {
        1 => format!("network (every setting): {}", networks[0]),
        _ => format!("networks: {}", networks.join("; ")),
    };
    vec![
        networks,
        format!(
            "data: {} — {} training / {} validation images (the last files of each class); \
             augmentation `{}`; backend {}",
            config.data.describe(),
            train,
            valid,
            format!("{:?}", config.augment.scheme).to_lowercase(),
            budget.backend
        ),
        format!(
            "{optimizer}, lr {} ({schedule}), batch {} unless the setting says otherwise, {} epochs, \
             seeds {:?} (mean ± standard deviation over seeds)",
            config.lr, config.batch_size, config.epochs, budget.seeds
        ),
    ]
}
