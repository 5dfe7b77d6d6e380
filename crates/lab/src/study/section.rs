//! A study's part of REPORT.md, and REPORT.md itself: every section found
//! under the studies' folder, in the studies' order.

use anyhow::Result;
use hanzi12::atomic::write_atomic;
use std::path::{Path, PathBuf};

use super::name::StudyName;

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
    pub fn markdown(&self, command: &str) -> String {
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

/// REPORT.md: every study's section found under `out`, in the studies' order.
pub fn write_report(out: &Path) -> Result<PathBuf> {
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
