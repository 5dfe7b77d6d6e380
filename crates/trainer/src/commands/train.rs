//! `trainer` / `trainer train`: the main job.

use anyhow::{Result, bail};
use hanzi12::args::TrainArgs;
use hanzi12::train::{self, Outcome};
use hanzi12::{RunDir, RunSettings};

pub fn run(args: TrainArgs) -> Result<()> {
    if args.print_recipe {
        print!("{}", args.settings()?.recipe.to_json());
        return Ok(());
    }
    let (settings, run) = match args.resume {
        true => resumed(&args)?,
        false => new_run(&args)?,
    };
    let interrupter =
        train::stop_on_ctrl_c("the finished epochs are saved (continue with --resume)")?;
    report(train::train(&settings, &run, args.resume, interrupter)?)
}

/// A new run's settings and folder; a folder that already holds a run is
/// refused before anything is written.
fn new_run(args: &TrainArgs) -> Result<(RunSettings, RunDir)> {
    let settings = args.settings()?;
    let run = RunDir::for_new_run(args.artifacts.as_deref(), &settings.recipe);
    if run.holds_a_run() {
        bail!(
            "--artifacts {}: already holds a run (use --resume to continue it, or another folder)",
            run.path().display()
        );
    }
    Ok((settings, run))
}

/// The saved run in `--artifacts`, with what the other flags may change.
fn resumed(args: &TrainArgs) -> Result<(RunSettings, RunDir)> {
    let dir = args
        .artifacts
        .as_deref()
        .expect("clap requires --artifacts with --resume");
    let run = RunDir::new(dir);
    let done = run.last_complete_epoch().unwrap_or(0);
    let saved = run.settings()?;
    let wanted = args.wanted_of(&saved)?;
    Ok((saved.resumed_as(wanted, done)?, run))
}

/// The run's result in one line.
fn report(outcome: Outcome) -> Result<()> {
    if let Some(reason) = &outcome.stopped_early {
        println!("stopped before the last epoch: {reason}");
    }
    match &outcome.best {
        Some(best) => println!(
            "done: best validation accuracy {:.2}% (loss {:.4}) at epoch {}, {:.0} s, artifacts in {}",
            best.accuracy,
            best.loss,
            best.epoch,
            outcome.seconds,
            outcome.run.path().display()
        ),
        None => bail!(
            "no epoch finished with a finite validation loss; nothing to keep in {}",
            outcome.run.path().display()
        ),
    }
    Ok(())
}
