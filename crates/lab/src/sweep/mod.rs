//! `trainer sweep NAME`: find a recipe instead of guessing it. Trials of
//! the main job's training, each an ordinary run folder
//! (`<out>/trial-NNN/`, which predict, eval, serve, export and `--resume`
//! take), with settings chosen by a sampler from the trials so far
//! ([`sampler`]), stopped early when they trail ([`pruner`]), recorded in
//! one journal that any number of worker processes share ([`journal`],
//! [`worker`]); [`report`] reads it back. Running the same command again
//! goes on where the sweep stopped, killed or not.

mod journal;
mod pruner;
mod report;
mod sampler;
mod slurm;
mod space;
mod worker;

pub use pruner::PrunerKind;
pub use sampler::SamplerKind;

use anyhow::{Context, Result, bail, ensure};
use std::path::PathBuf;
use std::process::Command;

use crate::args::SweepArgs;
use journal::{Header, Journal};
use space::Space;
use worker::Sweep;

/// `trainer sweep NAME`.
pub fn run(args: SweepArgs) -> Result<()> {
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("artifacts/sweeps").join(&args.name));
    if args.report {
        let path = report::write(&dir)?;
        println!("{}", std::fs::read_to_string(&path)?);
        println!("report: {}", path.display());
        return Ok(());
    }
    let sweep = sweep(&args, dir)?;
    let journal = Journal::open(&sweep.dir, &sweep.header)?;
    if args.slurm {
        return slurm::write(&sweep.dir, &args.name, args.jobs, &args.sbatch);
    }
    match (args.jobs, args.worker) {
        (1, _) | (_, true) => {
            let stop = hanzi12::train::stop_on_ctrl_c("run the sweep again to go on")?;
            worker::work(&sweep, &journal, &stop)?;
        }
        (jobs, false) => workers(jobs)?,
    }
    if !args.worker {
        let path = report::write(&sweep.dir)?;
        println!("sweep {}: report in {}", args.name, path.display());
    }
    Ok(())
}

/// The sweep the flags describe, checked before anything is written.
fn sweep(args: &SweepArgs, dir: PathBuf) -> Result<Sweep> {
    ensure!(args.trials > 0, "--trials 0: expected at least 1");
    ensure!(args.jobs > 0, "--jobs 0: expected at least 1");
    let train = &args.train;
    if train.artifacts.is_some() || train.resume || train.print_recipe {
        bail!(
            "--artifacts, --resume and --print-recipe are for one run: a sweep's trials live under --out, and running the sweep again resumes it"
        );
    }
    let settings = train.settings()?;
    // A backend that cannot start would fail every trial: refused once, here.
    settings.execution.backend.device()?;
    let space = Space::from_flags(&args.search, args.space.as_deref())?;
    space.check(&settings.recipe)?;
    let trials = match args.sampler.capacity(&space) {
        Some(size) if size < args.trials => {
            println!(
                "--trials {}: the grid has {size} combinations, so {size} trials",
                args.trials
            );
            size
        }
        _ => args.trials,
    };
    let header = Header {
        name: args.name.clone(),
        space,
        base: settings.recipe,
        sampler: args.sampler,
        pruner: args.pruner,
        seed: args.sweep_seed,
    };
    Ok(Sweep {
        dir,
        header,
        execution: settings.execution,
        trials,
    })
}

/// `--jobs K`: K worker processes of this command, each taking trials
/// from the journal until none is left.
fn workers(jobs: usize) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .chain(["--worker".to_string()])
        .collect();
    let children: Vec<_> = (0..jobs)
        .map(|_| {
            Command::new(&exe)
                .args(&argv)
                .spawn()
                .context("cannot start a sweep worker")
        })
        .collect::<Result<_>>()?;
    let mut failed = 0;
    for mut child in children {
        if !child.wait().is_ok_and(|status| status.success()) {
            failed += 1;
        }
    }
    ensure!(
        failed == 0,
        "{failed} of {jobs} workers failed (see above); run the sweep again to go on"
    );
    Ok(())
}
