//! `--slurm`: the plan as a Slurm job array, one task per run, and a job
//! that collects once every task succeeded (`--dependency=afterok`). The
//! project plans, Slurm runs, the project collects: no scheduling here.
//!
//! Task i trains line i of the plan. The task makes the plan again before
//! it runs, so a requeued task (preempted, cancelled and requeued, a node
//! lost) finds its run folder and continues it with `--resume`, and a run
//! that finished is not trained again.

use anyhow::{Context, Result, ensure};
use hanzi12::atomic::write_atomic;
use std::path::{Path, PathBuf};

use super::command::shell_line;
use super::flags::study_words;
use super::name::StudyName;
use super::plan::PlannedRun;
use crate::args::StudyArgs;

/// The job scripts of study `args.name` under `<out>/slurm/<name>/`.
pub fn write(args: &StudyArgs, out: &Path, plans: &[(StudyName, Vec<PlannedRun>)]) -> Result<()> {
    let runs: Vec<&PlannedRun> = plans.iter().flat_map(|(_, plan)| plan).collect();
    ensure!(!runs.is_empty(), "the study has no runs to submit");
    let mut plan_text = String::new();
    for run in &runs {
        run.write_recipe()?;
        plan_text += &run.command();
        plan_text += "\n";
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let jobs = cwd.join(out).join("slurm").join(args.name.folder());
    let logs = jobs.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let mut study = vec![exe.display().to_string()];
    study.extend(study_words(args.name, args));
    study.extend(["--out".to_string(), out.display().to_string()]);
    let scripts = Scripts {
        name: args.name.folder(),
        cwd: &cwd,
        jobs: &jobs,
        study,
        sbatch: &args.sbatch,
        tasks: runs.len(),
    };
    write_atomic(&jobs.join("plan.txt"), plan_text.as_bytes())?;
    let [array, collect, submit] = ["array.sh", "collect.sh", "submit.sh"].map(|f| jobs.join(f));
    write_atomic(&array, scripts.array().as_bytes())?;
    write_atomic(&collect, scripts.collect().as_bytes())?;
    write_atomic(&submit, scripts.submit(&array, &collect, out).as_bytes())?;
    println!(
        "wrote {}: array.sh ({} tasks, one per line of plan.txt), collect.sh (after all of them succeed), submit.sh",
        jobs.display(),
        runs.len()
    );
    println!("submit both with:  bash {}", quote(&submit));
    println!(
        "(or: sbatch {}, then sbatch --dependency=afterok:<its job id> {}); the report: {}",
        quote(&array),
        quote(&collect),
        out.join("REPORT.md").display()
    );
    Ok(())
}

/// `path` quoted for a shell line of a job script.
pub(crate) fn quote(path: &Path) -> String {
    shell_line(&[path.display().to_string()])
}

/// A job script's first lines: its own `#SBATCH` options, then those every
/// job of the project has (run in `cwd`, logs appended), then the user's.
pub(crate) fn sbatch_header(own: &[String], cwd: &Path, sbatch: &[String]) -> String {
    let mut text = String::from("#!/bin/bash\n");
    let common = [
        format!("--chdir={}", cwd.display()),
        "--open-mode=append".to_string(),
    ];
    for option in own.iter().chain(&common).chain(sbatch) {
        text += &format!("#SBATCH {option}\n");
    }
    text + "set -euo pipefail\n"
}

/// What the job scripts are made of.
struct Scripts<'a> {
    name: &'a str,
    cwd: &'a Path,
    jobs: &'a Path,
    /// `<this program> study NAME <flags> --out OUT`.
    study: Vec<String>,
    sbatch: &'a [String],
    tasks: usize,
}

impl Scripts<'_> {
    /// `#SBATCH` lines every job has, after its own.
    fn header(&self, own: &[String]) -> String {
        sbatch_header(own, self.cwd, self.sbatch)
    }

    fn array(&self) -> String {
        let own = [
            format!("--job-name=hanzi12-{}", self.name),
            format!("--array=0-{}", self.tasks - 1),
            "--requeue".to_string(),
            format!(
                "--output={}",
                self.jobs.join("logs/run-%A_%a.out").display()
            ),
        ];
        let mut plan = self.study.clone();
        plan.push("--plan".to_string());
        let planned = self.jobs.join("plan.txt");
        format!(
            "{}\
# Task i trains run i of `study {name} --plan` (plan.txt holds it as written).
# The plan is made again here: a requeued task's run folder holds its run,
# so its line continues it with --resume, and a finished run trains no more.
trainer() {{ {exe} \"$@\"; }}
line=$({plan} | sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\")
planned=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {planned})
if [ -z \"$line\" ] || [ \"${{line/ --resume/}}\" != \"${{planned/ --resume/}}\" ]; then
    echo \"task $SLURM_ARRAY_TASK_ID: the plan has changed since plan.txt was written; write the jobs again (--slurm)\" >&2
    exit 1
fi
echo \"task $SLURM_ARRAY_TASK_ID: $line\"
eval \"$line\"
",
            self.header(&own),
            name = self.name,
            exe = shell_line(&self.study[..1]),
            plan = shell_line(&plan),
            planned = quote(&planned),
        )
    }

    fn collect(&self) -> String {
        let own = [
            format!("--job-name=hanzi12-{}-collect", self.name),
            format!(
                "--output={}",
                self.jobs.join("logs/collect-%j.out").display()
            ),
        ];
        let mut collect = self.study.clone();
        collect.push("--collect".to_string());
        format!(
            "{}# The section, figures and REPORT.md from the finished runs.\nexec {}\n",
            self.header(&own),
            shell_line(&collect)
        )
    }

    fn submit(&self, array: &Path, collect: &Path, out: &Path) -> String {
        let report: PathBuf = self.cwd.join(out).join("REPORT.md");
        format!(
            "#!/bin/bash\n\
# Submits the array, and the collect job to run once every task succeeded.
set -euo pipefail
array=$(sbatch --parsable {array})
array=${{array%%;*}}
collect=$(sbatch --parsable --dependency=afterok:$array {collect})
collect=${{collect%%;*}}
echo \"array job $array ({tasks} runs), collect job $collect\"
echo \"watch with: squeue -j $array,$collect; logs in {logs}; the report: {report}\"
",
            array = quote(array),
            collect = quote(collect),
            tasks = self.tasks,
            logs = quote(&self.jobs.join("logs")),
            report = quote(&report),
        )
    }
}
