//! The plan run in this process, one run after another: a run that
//! finished is reused, one that was cut off resumes.

use anyhow::{Context, Result, bail};
use burn::train::Interrupter;
use hanzi12::RunDir;
use hanzi12::train;

use super::plan::{Job, PlannedRun};
use crate::scratch::fit_sine;

/// Trains every run of `plan` that has not finished.
pub fn execute(plan: &[PlannedRun], interrupter: &Interrupter) -> Result<()> {
    for run in plan {
        let what = format!("{}: seed {}", run.label, run.seed);
        if run.finished() {
            println!("{what} finished earlier, reused ({})", run.dir.display());
            continue;
        }
        match &run.job {
            Job::Train { settings, .. } => {
                println!("--- {what} -> {}", run.dir.display());
                let (dir, resume) = (RunDir::new(&run.dir), run.started());
                let outcome = train::train(settings, &dir, resume, interrupter.clone())
                    .with_context(|| format!("{} (seed {})", run.label, run.seed))?;
                if let Some(reason) = outcome.stopped_early {
                    bail!("{what} stopped: {reason}; run the study again to continue");
                }
            }
            Job::Sine(config) => {
                let fit = fit_sine::<f32>(config, false)?;
                println!(
                    "sine {what}, mean |error| {:.5} ({:.1} s)",
                    fit.mae(),
                    fit.seconds
                );
                fit.save(&run.dir)?;
            }
        }
    }
    Ok(())
}
