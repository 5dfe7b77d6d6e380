//! `trainer study NAME`: the course report's experiments, each one command
//! that trains, draws its figures and writes its section of
//! `artifacts/studies/REPORT.md`.
//!
//! A study is a plan of independent runs, each in its own folder under
//! `<out>/<study>/runs/`, named after its settings. The plan is trained in
//! this process, or printed as `trainer train --recipe FILE` commands
//! (`--plan`, each recipe written to `<out>/<study>/recipes/`) or written as
//! a Slurm job array (`--slurm`) for a cluster; `--collect` then reads the
//! finished folders and writes what the in-process study writes. Running a
//! study again reuses the runs that finished, resumes one that was cut off,
//! and only redraws and rewrites the report.

mod budget;
mod collect;
mod command;
mod course;
mod designs;
mod difference;
mod execute;
mod findings;
mod flags;
mod grid;
mod name;
mod outcome;
mod plan;
mod recipe;
mod section;
mod sine_activation;
pub(crate) mod slurm;
mod variance_shift;

pub use budget::Budget;
pub use command::shell_line;
pub use name::StudyName;
pub use plan::{Job, PlannedRun};

use anyhow::{Context, Result};
use hanzi12::atomic::write_atomic;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::args::StudyArgs;
use section::write_report;

/// `trainer study NAME`.
pub fn run(args: StudyArgs) -> Result<()> {
    let args = &args;
    let budget = Budget::from_args(args)?;
    let out = out_dir(args, &budget);
    let plans = plans(args.name, &out, &budget);
    if args.plan {
        return print_plan(&plans, args.json);
    }
    if args.slurm {
        return slurm::write(args, &out, &plans);
    }
    // A backend that cannot start is refused before any study runs.
    budget.backend.device()?;
    if args.collect {
        collect::check_finished(plans.iter().flat_map(|(_, plan)| plan))?;
    }
    let interrupter = match args.collect {
        true => None,
        false => Some(hanzi12::train::stop_on_ctrl_c(
            "run the study again to continue",
        )?),
    };
    let started = Instant::now();
    for (name, plan) in &plans {
        let name = *name;
        let dir = out.join(name.folder());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the study folder {}", dir.display()))?;
        println!("=== study {} -> {}", name.folder(), dir.display());
        let study_started = Instant::now();
        if let Some(interrupter) = &interrupter {
            execute::execute(plan, interrupter)?;
        }
        collect::check_finished(plan)?;
        let section = collect::section(name, &dir, &budget)?;
        let command = flags::command_line(name, args);
        let seconds = study_started.elapsed().as_secs_f64();
        write_atomic(
            &dir.join("section.md"),
            section.markdown(&command).as_bytes(),
        )?;
        let report = write_report(&out)?;
        println!(
            "study {} done in {:.1} min: {}",
            name.folder(),
            seconds / 60.0,
            report.display()
        );
    }
    println!(
        "all done in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Where the studies and REPORT.md go.
fn out_dir(args: &StudyArgs, budget: &Budget) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if budget.quick {
            "artifacts/studies-quick"
        } else {
            "artifacts/studies"
        })
    })
}

/// The runs of study `name` (of each study, in order, for `all`) under `out`.
pub fn plans(name: StudyName, out: &Path, budget: &Budget) -> Vec<(StudyName, Vec<PlannedRun>)> {
    let names = match name {
        StudyName::All => StudyName::EACH.to_vec(),
        one => vec![one],
    };
    names
        .into_iter()
        .map(|name| {
            let dir = out.join(name.folder());
            let plan = match name {
                StudyName::Sine => sine_activation::plan(&dir, budget),
                other => course::plan(other, &dir, budget),
            };
            (name, plan)
        })
        .collect()
}

/// `--plan`: one command (or JSON object) per line, in the plan's order,
/// each training run's recipe written to the file its command reads.
fn print_plan(plans: &[(StudyName, Vec<PlannedRun>)], json: bool) -> Result<()> {
    for run in plans.iter().flat_map(|(_, plan)| plan) {
        run.write_recipe()?;
        let argv = run.argv();
        let command = command::shell_line(&argv);
        if json {
            let line = serde_json::json!({
                "study": run.study.folder(),
                "label": run.label,
                "seed": run.seed,
                "dir": run.dir,
                "progress": run.progress(),
                "argv": argv,
                "command": command,
            });
            println!("{line}");
        } else {
            println!("{command}");
        }
    }
    Ok(())
}
