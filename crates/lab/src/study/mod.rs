//! `trainer study NAME`: the course report's experiments, each one command
//! that trains, draws its figures and writes its section of
//! `artifacts/studies/REPORT.md`.
//!
//! Runs are kept under `<out>/<study>/runs/`, named after their settings, so
//! running a study again reuses the runs that finished, resumes one that was
//! cut off, and only redraws and rewrites the report.

mod budget;
mod course;
mod designs;
mod difference;
mod findings;
mod grid;
mod name;
mod outcome;
mod recipe;
mod section;
mod sine_activation;
mod variance_shift;

pub use name::StudyName;

use anyhow::{Context, Result};
use hanzi12::Backend;
use hanzi12::atomic::write_atomic;
use std::path::PathBuf;
use std::time::Instant;

use crate::args::StudyArgs;
use budget::Budget;
use section::write_report;

/// `trainer study NAME`.
pub fn run(args: StudyArgs) -> Result<()> {
    let args = &args;
    let budget = Budget::from_args(args)?;
    // A backend that cannot start is refused before any study runs.
    budget.backend.device()?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if budget.quick {
            "artifacts/studies-quick"
        } else {
            "artifacts/studies"
        })
    });
    let interrupter = hanzi12::train::stop_on_ctrl_c("run the study again to continue")?;

    let names: Vec<StudyName> = match args.name {
        StudyName::All => StudyName::EACH.to_vec(),
        one => vec![one],
    };
    let started = Instant::now();
    for name in names {
        let dir = out.join(name.folder());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the study folder {}", dir.display()))?;
        println!("=== study {} -> {}", name.folder(), dir.display());
        let study_started = Instant::now();
        let section = match name {
            StudyName::Sine => sine_activation::run(&dir, &budget)?,
            other => course::run(other, &dir, &budget, &interrupter)?,
        };
        let command = command_line(name, args);
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

/// The command that reproduces one study with these arguments.
fn command_line(name: StudyName, args: &StudyArgs) -> String {
    let mut command = format!("cargo run -p trainer -- study {}", name.folder());
    if let Some(data) = &args.data.path {
        command += &format!(" --data {}", data.display());
    }
    if args.backend.backend != Backend::Flex {
        command += &format!(" --backend {}", args.backend.backend);
    }
    if args.quick {
        command += " --quick";
    }
    for (flag, value) in [
        ("--seeds", args.seeds),
        ("--mlp-epochs", args.mlp_epochs),
        ("--cnn-epochs", args.cnn_epochs),
    ] {
        if let Some(v) = value {
            command += &format!(" {flag} {v}");
        }
    }
    command
}
