//! The served run: its network as a classifier of 28x28 inputs, and what
//! `/api/model` says about it.

use anyhow::Result;
use dataset::{CHARACTERS, NUM_CLASSES, NormaliseConfig};
use hanzi12::infer::{Trained, unlabelled};
use hanzi12::{Backend, RunDir};
use serde::Serialize;
use std::path::Path;

use crate::queue::Classifier;

/// What `/api/model` says about the served run.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    pub network: String,
    pub description: String,
    pub parameters: usize,
    pub training_data: String,
    /// Percent, of the epoch whose weights are served; `None` when the run
    /// has no metrics.
    pub validation_accuracy: Option<f64>,
    pub epoch: Option<usize>,
    pub backend: String,
    pub run: String,
    /// How the run's network wants its input's ink normalised (`None`: the
    /// course's raw boxes); every picture is prepared by it.
    pub normalise: Option<NormaliseConfig>,
    pub classes: Vec<ClassInfo>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClassInfo {
    pub character: char,
    /// The course's folder number, 1..=12.
    pub folder: usize,
}

impl ClassInfo {
    pub fn all() -> Vec<ClassInfo> {
        (0..NUM_CLASSES)
            .map(|k| ClassInfo {
                character: CHARACTERS[k],
                folder: k + 1,
            })
            .collect()
    }
}

/// The run's network as a classifier, and what `/api/model` says about it.
pub fn load(run: &Path, backend: Backend) -> Result<(Classifier, ModelInfo)> {
    let trained = Trained::load(run, backend)?;
    let info = ModelInfo::of(run, &trained, backend.to_string());
    let classifier: Classifier = Box::new(move |images: Vec<Vec<f32>>| {
        let items: Vec<_> = images
            .into_iter()
            .map(|image| unlabelled(image, String::new()))
            .collect();
        trained.probabilities(&items)
    });
    Ok((classifier, info))
}

impl ModelInfo {
    /// What the page says about `trained` (loaded from `run`), read by
    /// `backend` (a name for people).
    pub fn of(run: &Path, trained: &Trained, backend: String) -> ModelInfo {
        // The epoch whose weights training kept: the lowest validation loss.
        let rows = RunDir::new(run).rows();
        let best = hanzi12::metrics::best_valid(&rows);
        ModelInfo {
            network: trained.recipe.model.name().to_string(),
            description: trained.recipe.model.describe(),
            parameters: trained.network.num_trainable_params(),
            training_data: trained.recipe.data.describe(),
            validation_accuracy: best.as_ref().map(|r| r.accuracy),
            epoch: best.as_ref().map(|r| r.epoch),
            backend,
            run: run.display().to_string(),
            normalise: trained.recipe.normalise,
            classes: ClassInfo::all(),
        }
    }
}
