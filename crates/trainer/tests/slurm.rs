//! `trainer study --slurm` on a real Slurm cluster (`.ci/slurm-up` starts a
//! one-node one where it can; without one this test says so in one line, and
//! under CI fails: `testdata::missing`).
//! A `--quick` study submitted as a job array, then collected, writes the
//! section the in-process study writes (same seeds, same numbers); a task
//! cancelled mid-run and requeued continues its run from the last saved
//! epoch, and the report is still the same.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ended_trials, ok, plan, section, small_data, text, without_timings};

/// The longest the test waits for the cluster, per wait.
const PATIENCE: Duration = Duration::from_secs(600);

/// The study: two CNN runs, long enough (6 epochs) to be cancelled mid-run.
fn study(data: &str, out: &str) -> Vec<String> {
    [
        "study",
        "cnn",
        "--quick",
        "--cnn-epochs",
        "6",
        "--data",
        data,
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec()
}

/// A Slurm command's stdout; `None` where it cannot run or fails.
fn slurm(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(args)
        .output()
        .ok()?;
    out.status.success().then(|| text(&out.stdout))
}

/// Whether a cluster answers with a node that can run jobs.
fn cluster_answers() -> bool {
    let states = slurm("sinfo", &["-h", "-o", "%T"]).unwrap_or_default();
    ["idle", "mix", "alloc"].iter().any(|s| states.contains(s))
}

/// Waits until `done` holds, polling every `every`; fails naming `what`
/// after [`PATIENCE`].
fn wait_for(what: &str, every: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "gave up waiting for {what}");
        std::thread::sleep(every);
    }
}

/// Whether any of `jobs` (Slurm job ids, array tasks included) is queued or running.
fn queued(jobs: &str) -> bool {
    let listed = slurm("squeue", &["-h", "-j", jobs, "-o", "%i %T"]).unwrap_or_default();
    !listed.trim().is_empty()
}

/// `bash submit.sh` of the study's jobs; the array's and the collect job's ids.
fn submit(jobs: &Path, cwd: &Path) -> (String, String) {
    let out = Command::new("bash")
        .arg(jobs.join("submit.sh"))
        .current_dir(cwd)
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    // "array job 12 (2 runs), collect job 13"
    let words: Vec<&str> = said.split_whitespace().collect();
    let after = |w: &str| words[words.iter().position(|x| *x == w).unwrap() + 2];
    (
        after("array").to_string(),
        after("collect").trim_end_matches(',').to_string(),
    )
}

fn run_folder(line: &str) -> PathBuf {
    let words = shlex::split(line).unwrap();
    let at = words.iter().position(|w| w == "--artifacts").unwrap();
    PathBuf::from(&words[at + 1])
}

/// Rows of `metrics.csv` (header aside) of the validation split.
fn valid_epochs(metrics: &str) -> usize {
    metrics.lines().filter(|l| l.contains(",valid,")).count()
}

/// The last epoch whose model, optimizer and scheduler were all saved: where
/// a resumed run continues.
fn last_saved_epoch(run: &Path) -> usize {
    let saved = |epoch: usize| {
        ["model", "optim", "scheduler"]
            .iter()
            .all(|kind| run.join(format!("checkpoint/{kind}-{epoch}.bpk")).is_file())
    };
    (1..=6).rev().find(|&e| saved(e)).unwrap_or(0)
}

/// `metrics.csv`'s header and its rows of epochs up to `epoch`.
fn rows_up_to(metrics: &str, epoch: usize) -> String {
    let keep = |line: &&str| {
        let first = line.split(',').next().unwrap_or("");
        match first.parse::<usize>() {
            Ok(e) => e <= epoch,
            Err(_) => true, // the header
        }
    };
    metrics
        .lines()
        .filter(keep)
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_study_on_slurm_collects_what_the_in_process_study_writes() {
    if !cluster_answers() {
        return testdata::missing(testdata::NO_SLURM);
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let Some(data) = small_data(cwd, 24) else {
        return testdata::missing(testdata::NO_COURSE_DATA);
    };
    let data = data.to_str().unwrap();
    let started = Instant::now();
    ok(&study(data, "a"), cwd);
    let expected = without_timings(&section(&cwd.join("a"), "cnn"));

    // The array and the collect job, as a user submits them.
    ok(&[study(data, "b"), vec!["--slurm".into()]].concat(), cwd);
    let (array, collect) = submit(&cwd.join("b/slurm/cnn"), cwd);
    wait_for("the study's jobs", Duration::from_secs(1), || {
        !queued(&format!("{array},{collect}"))
    });
    assert_eq!(without_timings(&section(&cwd.join("b"), "cnn")), expected);
    eprintln!(
        "slurm: array and collect done in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    // Again, with task 0 cancelled mid-run and requeued.
    let lines = plan(&study(data, "c"), cwd);
    let run = cwd.join(run_folder(&lines[0]));
    ok(&[study(data, "c"), vec!["--slurm".into()]].concat(), cwd);
    let (array, collect) = submit(&cwd.join("c/slurm/cnn"), cwd);
    let metrics = || std::fs::read_to_string(run.join("metrics.csv")).unwrap_or_default();
    wait_for(
        "task 0's first saved epoch",
        Duration::from_millis(20),
        || last_saved_epoch(&run) >= 1,
    );
    let task = format!("{array}_0");
    slurm("scancel", &[&task]).expect("scancel");
    wait_for(
        "the cancelled task to stop",
        Duration::from_millis(200),
        || !queued(&task),
    );
    let done = last_saved_epoch(&run);
    let saved = rows_up_to(&metrics(), done);
    assert!(
        (1..6).contains(&done),
        "task 0 was not cancelled mid-run ({done} of 6 epochs)"
    );
    slurm("scontrol", &["requeue", &task]).expect("scontrol requeue");
    // A requeued job waits a while before it may start again; it may start now.
    slurm(
        "scontrol",
        &["update", &format!("jobid={task}"), "StartTime=now"],
    );
    wait_for("the requeued task", Duration::from_secs(1), || {
        !queued(&array)
    });
    // The collect job waited on every task succeeding: the cancel broke
    // that, so it is cancelled and collect submitted again.
    slurm("scancel", &[&collect]);
    let jobs = cwd.join("c/slurm/cnn");
    let again = slurm(
        "sbatch",
        &["--parsable", jobs.join("collect.sh").to_str().unwrap()],
    )
    .expect("sbatch collect.sh");
    wait_for("collect", Duration::from_secs(1), || !queued(again.trim()));

    let finished = metrics();
    assert!(
        finished.starts_with(&saved),
        "the epochs saved before the cancel were trained again:\n{saved}\n---\n{finished}"
    );
    assert_eq!(valid_epochs(&finished), 6, "{finished}");
    let log = std::fs::read_to_string(jobs.join(format!("logs/run-{array}_0.out"))).unwrap();
    let starts: Vec<&str> = log.lines().filter(|l| l.starts_with("task 0: ")).collect();
    assert_eq!(starts.len(), 2, "{log}");
    assert!(starts[1].contains(" --resume "), "{log}");
    assert_eq!(without_timings(&section(&cwd.join("c"), "cnn")), expected);
    eprintln!(
        "slurm: cancelled after {done} of 6 epochs, resumed; test done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// `trainer sweep --slurm` with two workers on one journal: one worker is
/// cancelled while a trial trains and requeued; the sweep still ends with
/// exactly its trials, each counted once, and the report job writes the report.
#[test]
fn a_sweep_on_slurm_survives_a_cancelled_worker() {
    if !cluster_answers() {
        return testdata::missing(testdata::NO_SLURM);
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let Some(data) = small_data(cwd, 24) else {
        return testdata::missing(testdata::NO_COURSE_DATA);
    };
    let sweep = [
        "sweep",
        "slurm",
        "--model",
        "cnn_res",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "4",
        "--search",
        "lr=log:3e-4:3e-2",
        "--pruner",
        "none",
        "--trials",
        "4",
        "--jobs",
        "2",
        "--out",
        "s",
        "--slurm",
    ];
    ok(&sweep, cwd);
    let out = cwd.join("s");
    let said = Command::new("bash")
        .arg(out.join("slurm/submit.sh"))
        .current_dir(cwd)
        .output()
        .unwrap();
    let said = text(&said.stdout);
    // "worker array 12 (2 workers), report job 13"
    let words: Vec<&str> = said.split_whitespace().collect();
    let (array, report) = (words[2].to_string(), words[words.len() - 1].to_string());
    let trial_saved = || (0..4).any(|t| last_saved_epoch(&out.join(format!("trial-{t:03}"))) >= 1);
    wait_for(
        "a trial's first saved epoch",
        Duration::from_millis(20),
        trial_saved,
    );
    let task = format!("{array}_0");
    slurm("scancel", &[&task]).expect("scancel");
    wait_for(
        "the cancelled worker to stop",
        Duration::from_millis(200),
        || !queued(&task),
    );
    slurm("scontrol", &["requeue", &task]).expect("scontrol requeue");
    slurm(
        "scontrol",
        &["update", &format!("jobid={task}"), "StartTime=now"],
    );
    wait_for("the workers and the report", Duration::from_secs(1), || {
        !queued(&format!("{array},{report}"))
    });
    assert_eq!(ended_trials(&out), [0, 1, 2, 3]);
    let text =
        std::fs::read_to_string(out.join("report.md")).expect("the report job wrote report.md");
    assert!(text.contains("4 trials ended"), "{text}");
}
