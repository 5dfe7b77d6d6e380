//! A study's runs, planned: each run's folder and what trains it. One plan,
//! three executors: this process trains it (`study NAME`), `--plan` prints
//! it as `trainer` commands for any scheduler, `--slurm` writes it as a job
//! array; `--collect` reads the finished folders back.

use anyhow::Result;
use hanzi12::atomic::write_atomic;
use hanzi12::{RunDir, RunSettings};
use std::path::PathBuf;

use super::name::StudyName;
use crate::scratch::{SineConfig, SineFit};

/// One run of a study.
pub struct PlannedRun {
    pub study: StudyName,
    /// The setting's label in the study's tables.
    pub label: String,
    pub seed: u64,
    /// The run's own folder.
    pub dir: PathBuf,
    pub job: Job,
}

/// What trains a run.
// A plan holds a few dozen runs: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Job {
    /// `trainer train --recipe RECIPE_FILE`, with every epoch's checkpoint
    /// kept where the study measures each epoch afterwards.
    Train {
        settings: RunSettings,
        /// Where the plan writes the recipe for the command to read.
        recipe_file: PathBuf,
    },
    /// `trainer scratch --task sine`: the hand-written backpropagation.
    Sine(SineConfig),
}

impl PlannedRun {
    /// Writes the recipe file the run's command reads (a training run's).
    pub fn write_recipe(&self) -> Result<()> {
        let Job::Train {
            settings,
            recipe_file,
        } = &self.job
        else {
            return Ok(());
        };
        if let Some(folder) = recipe_file.parent() {
            std::fs::create_dir_all(folder)?;
        }
        write_atomic(recipe_file, settings.recipe.to_json().as_bytes())
    }

    /// Whether the run trained to its end (and so is reused, never retrained).
    pub fn finished(&self) -> bool {
        match &self.job {
            Job::Train { settings, .. } => RunDir::new(&self.dir).finished(settings.recipe.epochs),
            Job::Sine(_) => SineFit::saved_in(&self.dir),
        }
    }

    /// Whether its folder already holds a run, which training continues
    /// (`--resume`) instead of starting again.
    pub fn started(&self) -> bool {
        match &self.job {
            Job::Train { .. } => RunDir::new(&self.dir).holds_a_run(),
            // A fit is written at its end: there is nothing to continue.
            Job::Sine(_) => false,
        }
    }

    /// How far the run got, in words: "finished", "epoch 2 of 3 saved",
    /// "not started".
    pub fn progress(&self) -> String {
        if self.finished() {
            return "finished".to_string();
        }
        match (&self.job, RunDir::new(&self.dir).last_complete_epoch()) {
            (Job::Train { settings, .. }, Some(epoch)) => {
                format!("epoch {epoch} of {} saved", settings.recipe.epochs)
            }
            (Job::Train { .. }, None) if self.started() => "started, no epoch saved".to_string(),
            _ => "not started".to_string(),
        }
    }
}
