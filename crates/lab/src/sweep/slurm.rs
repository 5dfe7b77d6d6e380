//! `trainer sweep NAME … --slurm`: the sweep's workers as a Slurm job
//! array of `--jobs` tasks, each `trainer sweep NAME … --worker` on the one
//! journal, and a report job once they all ended (`afterany`: a cancelled
//! worker loses nothing, so the report is worth writing). A requeued or
//! cancelled worker's trial is taken over by the next worker that asks.

use anyhow::{Context, Result};
use hanzi12::atomic::write_atomic;
use std::path::Path;

use crate::study::shell_line;
use crate::study::slurm::{quote, sbatch_header};

/// Writes `<dir>/slurm/{workers,report,submit}.sh` and says how to submit them.
pub fn write(dir: &Path, name: &str, jobs: usize, sbatch: &[String]) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let scripts = cwd.join(dir).join("slurm");
    let logs = scripts.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut worker = vec![exe.display().to_string()];
    worker.extend(worker_args());
    let report = [
        exe.display().to_string(),
        "sweep".into(),
        name.into(),
        "--report".into(),
        "--out".into(),
        cwd.join(dir).display().to_string(),
    ];
    let header = |own: &[String]| sbatch_header(own, &cwd, sbatch);
    let workers = format!(
        "{}# Each task is one worker of the sweep: it asks the journal for trials until\n# the sweep has them; a requeued task goes on with what it had.\nexec {}\n",
        header(&[
            format!("--job-name=hanzi12-sweep-{name}"),
            format!("--array=0-{}", jobs - 1),
            "--requeue".to_string(),
            format!("--output={}", logs.join("worker-%A_%a.out").display()),
        ]),
        shell_line(&worker)
    );
    let report_job = format!(
        "{}# The sweep's report, once every worker ended.\nexec {}\n",
        header(&[
            format!("--job-name=hanzi12-sweep-{name}-report"),
            format!("--output={}", logs.join("report-%j.out").display()),
        ]),
        shell_line(&report)
    );
    let [workers_sh, report_sh, submit_sh] =
        ["workers.sh", "report.sh", "submit.sh"].map(|f| scripts.join(f));
    let submit = format!(
        "#!/bin/bash\n# Submits the workers, and the report to run once they all ended.\nset -euo pipefail\nworkers=$(sbatch --parsable {})\nworkers=${{workers%%;*}}\nreport=$(sbatch --parsable --dependency=afterany:$workers {})\nreport=${{report%%;*}}\necho \"worker array $workers ({jobs} workers), report job $report\"\n",
        quote(&workers_sh),
        quote(&report_sh)
    );
    write_atomic(&workers_sh, workers.as_bytes())?;
    write_atomic(&report_sh, report_job.as_bytes())?;
    write_atomic(&submit_sh, submit.as_bytes())?;
    println!(
        "wrote {}: workers.sh ({jobs} workers on one journal), report.sh, submit.sh",
        scripts.display()
    );
    println!("submit both with:  bash {}", quote(&submit_sh));
    Ok(())
}

/// This command's words as a worker's: without `--slurm` and the sbatch
/// options after `--`, with `--worker`.
fn worker_args() -> Vec<String> {
    let mut words: Vec<String> = std::env::args()
        .skip(1)
        .take_while(|w| w != "--")
        .filter(|w| w != "--slurm")
        .collect();
    words.push("--worker".to_string());
    words
}
