//! `trainer study NAME`: the course report's experiments, each one command
//! that trains, draws its figures and writes its section of
//! `artifacts/studies/REPORT.md`.
//!
//! Runs are kept under `<out>/<study>/runs/`, named after their settings, so
//! running a study again reuses the runs that finished, resumes one that was
//! cut off, and only redraws and rewrites the report.

mod grid;
mod hanzi;
mod plot;
mod recipe;
mod shift;
mod sine;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::atomic::write_atomic;
use crate::backend::Backend;
use crate::cli::StudyArgs;
use crate::data::DataSource;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyName {
    /// MLP [1, 16, 32, 1] fitting sin x: LeakyReLU vs sigmoid.
    Sine,
    /// MLP with sigmoid vs LeakyReLU.
    Activation,
    /// MLP hidden layers (256,128), (128,128), (512,128), (256).
    Width,
    /// MLP with batch size 64 vs 256.
    Batch,
    /// MLP with dropout 0 vs 0.1.
    Dropout,
    /// Ink = 1 vs the raw white = 1 input.
    Invert,
    /// Plain vs residual CNN.
    Cnn,
    /// cnn_bn vs cnn_dropout vs cnn_bn_dropout, with the variance shift.
    Regularise,
    /// The main job's recipe: each ingredient (normalisation, augmentation, label smoothing, test-time shifts, ensembles) on and off.
    Recipe,
    /// Every study, in this order.
    All,
}

impl StudyName {
    const EACH: [StudyName; 9] = [
        StudyName::Sine,
        StudyName::Activation,
        StudyName::Width,
        StudyName::Batch,
        StudyName::Dropout,
        StudyName::Invert,
        StudyName::Cnn,
        StudyName::Regularise,
        StudyName::Recipe,
    ];

    fn folder(self) -> &'static str {
        match self {
            StudyName::Sine => "sine",
            StudyName::Activation => "activation",
            StudyName::Width => "width",
            StudyName::Batch => "batch",
            StudyName::Dropout => "dropout",
            StudyName::Invert => "invert",
            StudyName::Cnn => "cnn",
            StudyName::Regularise => "regularise",
            StudyName::Recipe => "recipe",
            StudyName::All => "all",
        }
    }
}

/// How much each study trains, on what.
pub struct Budget {
    pub seeds: Vec<u64>,
    pub mlp_epochs: usize,
    pub cnn_epochs: usize,
    pub data: DataSource,
    pub backend: Backend,
    pub quick: bool,
}

/// Images per class in `--quick` runs.
const QUICK_PER_CLASS: usize = 24;

impl Budget {
    fn from_args(args: &StudyArgs) -> Result<Budget> {
        let quick = args.quick;
        let seeds = args.seeds.unwrap_or(if quick { 1 } else { 3 });
        let mlp_epochs = args.mlp_epochs.unwrap_or(if quick { 2 } else { 30 });
        let cnn_epochs = args.cnn_epochs.unwrap_or(if quick { 1 } else { 10 });
        for (flag, value) in [
            ("--seeds", seeds),
            ("--mlp-epochs", mlp_epochs),
            ("--cnn-epochs", cnn_epochs),
        ] {
            anyhow::ensure!(value > 0, "{flag} 0: expected at least 1");
        }
        // The data is fixed across seeds: seeds vary the weights, order and augmentation.
        let synthetic_per_class = if quick {
            QUICK_PER_CLASS
        } else {
            crate::data::SYNTH_PER_CLASS
        };
        let mut data = args
            .data
            .source(crate::data::SYNTH_SEED, synthetic_per_class);
        if let (true, DataSource::Folder { per_class, .. }) = (quick, &mut data) {
            *per_class = Some(QUICK_PER_CLASS);
        }
        Ok(Budget {
            seeds: (1..=seeds as u64).collect(),
            mlp_epochs,
            cnn_epochs,
            data,
            backend: args.backend,
            quick,
        })
    }
}

/// A study's part of REPORT.md.
pub struct Section {
    pub name: &'static str,
    pub title: String,
    pub setup: Vec<String>,
    /// Markdown table(s) of the final figures.
    pub table: String,
    /// (caption, file name in the study's folder).
    pub figures: Vec<(String, String)>,
    /// What the course report found.
    pub claim: String,
    /// What this run found, against the claim, with its numbers.
    pub comparison: String,
    /// Runs behind the section, and their training time in all (reused
    /// runs count with the time they took when they ran).
    pub runs: usize,
    pub train_seconds: f64,
}

impl Section {
    fn markdown(&self, command: &str) -> String {
        let mut text = format!(
            "## {}\n\n`{command}` ({} runs, {:.1} min of training)\n\n",
            self.title,
            self.runs,
            self.train_seconds / 60.0
        );
        for line in &self.setup {
            text += &format!("- {line}\n");
        }
        text += &format!("\n{}\n", self.table);
        for (caption, file) in &self.figures {
            text += &format!("![{caption}]({}/{file})\n\n*{caption}*\n\n", self.name);
        }
        text += &format!(
            "**The report:** {}\n\n**Here:** {}\n",
            self.claim, self.comparison
        );
        text
    }
}

pub fn run(args: &StudyArgs) -> Result<()> {
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
    let interrupter = crate::train::stop_on_ctrl_c("run the study again to continue")?;

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
            StudyName::Sine => sine::run(&dir, &budget)?,
            other => hanzi::run(other, &dir, &budget, &interrupter)?,
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
    if args.backend != Backend::Flex {
        command += &format!(" --backend {}", args.backend);
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

/// REPORT.md: every study's section found under `out`, in the studies' order.
fn write_report(out: &Path) -> Result<PathBuf> {
    let mut text = String::from(
        "# The course report's studies, reproduced\n\n\
         Each section was written by `trainer study NAME`: it trained the runs, drew the figures and \
         compared the numbers with what the course report found. Accuracy is on the validation split \
         (the last files of each class); ± is the standard deviation over seeds. \"Late jitter\" is the \
         mean absolute change of validation accuracy between consecutive epochs in the second half of \
         training.\n\n",
    );
    let mut found = 0;
    for name in StudyName::EACH {
        if let Ok(section) = std::fs::read_to_string(out.join(name.folder()).join("section.md")) {
            text += &section;
            text += "\n";
            found += 1;
        }
    }
    let path = out.join("REPORT.md");
    write_atomic(&path, text.as_bytes())?;
    println!(
        "{path}: {found} of {} studies",
        StudyName::EACH.len(),
        path = path.display()
    );
    Ok(path)
}
