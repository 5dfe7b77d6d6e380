//! A study's section from its finished run folders, however they were
//! trained (in this process, by `--plan`'s commands, by a Slurm array).

use anyhow::{Result, bail};
use std::path::Path;

use super::budget::Budget;
use super::name::StudyName;
use super::plan::PlannedRun;
use super::section::Section;
use super::{course, sine_activation};

/// Refuses, in one line naming each, while any run of `plan` is unfinished.
pub fn check_finished<'a>(plan: impl IntoIterator<Item = &'a PlannedRun>) -> Result<()> {
    let plan: Vec<&PlannedRun> = plan.into_iter().collect();
    let unfinished: Vec<String> = plan
        .iter()
        .filter(|run| !run.finished())
        .map(|run| format!("{} ({})", run.dir.display(), run.progress()))
        .collect();
    if !unfinished.is_empty() {
        bail!(
            "cannot collect: {} of {} runs are missing or unfinished: {} (train them with the commands of `--plan`, then collect again)",
            unfinished.len(),
            plan.len(),
            unfinished.join(", ")
        );
    }
    Ok(())
}

/// The section of study `name` from its finished runs in `dir`.
pub fn section(name: StudyName, dir: &Path, budget: &Budget) -> Result<Section> {
    match name {
        StudyName::Sine => sine_activation::section(dir, budget),
        other => course::section(other, dir, budget),
    }
}
