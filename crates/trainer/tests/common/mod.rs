//! What the end-to-end tests share: the real `trainer` binary, small real
//! data (or synthetic where there is none), and for the study tests running
//! a line of `study --plan` and a section without its timings.

#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every study `trainer study all` runs, in its order.
pub const STUDIES: [&str; 9] = [
    "sine",
    "activation",
    "width",
    "batch",
    "dropout",
    "invert",
    "cnn",
    "regularise",
    "recipe",
];

/// An HTTP client that hands back error statuses as responses, with a 30 s
/// deadline per request.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

/// A loopback port nobody listens on now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Trains `model` for one epoch on `data` into `<dir>/<model>`; the run folder.
pub fn train_one_epoch(model: &str, data: &Path, dir: &Path) -> PathBuf {
    let run = dir.join(model);
    let (data_arg, run_arg) = (data.to_str().unwrap(), run.to_str().unwrap());
    let args = [
        "--model",
        model,
        "--data",
        data_arg,
        "--epochs",
        "1",
        "--artifacts",
        run_arg,
    ];
    ok(&args, dir);
    run
}

pub fn trainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `trainer ARGS` in `cwd`, which must succeed; its stdout.
pub fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S], cwd: &Path) -> String {
    let out = trainer()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("trainer runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `trainer ARGS` in `cwd`, which must fail in one line without a panic;
/// that line.
pub fn refused<S: AsRef<std::ffi::OsStr>>(args: &[S], cwd: &Path) -> String {
    let out: Output = trainer()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("trainer runs");
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "should fail: {}", text(&out.stdout));
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    errors[0].to_string()
}

/// `per_class` images of each class in the course layout under `dir`, or
/// `None` where this machine has no course data (the test then says so
/// through `testdata::missing`).
pub fn small_data(dir: &Path, per_class: usize) -> Option<PathBuf> {
    let root = dir.join("data");
    testdata::copy_course_sample(&root, per_class).then_some(root)
}

/// `per_class` course images per class under `dir/data`, or, where this
/// machine has no course data, as many synthetic ones (`trainer synth`;
/// said in one line, or under CI a failure).
pub fn course_or_synthetic(dir: &Path, per_class: usize) -> PathBuf {
    let root = dir.join("data");
    if !testdata::copy_course_sample(&root, per_class) {
        testdata::missing_instead(testdata::NO_COURSE_DATA, "testing on synthetic handwriting");
        let per_class = per_class.to_string();
        let root = root.to_str().unwrap();
        ok(&["synth", "--out", root, "--per-class", &per_class], dir);
    }
    root
}

/// The plan's lines (`trainer study ARGS --plan`, run in `cwd`).
pub fn plan<S: AsRef<str>>(study: &[S], cwd: &Path) -> Vec<String> {
    let args: Vec<&str> = study.iter().map(AsRef::as_ref).chain(["--plan"]).collect();
    ok(&args, cwd).lines().map(String::from).collect()
}

/// Runs one line of a plan, as a shell would (with this build's binary as
/// `trainer`), in `cwd`; its stdout.
pub fn run_line(line: &str, cwd: &Path) -> String {
    let words = shlex::split(line).expect("a plan line splits into words");
    assert_eq!(words[0], "trainer", "{line}");
    ok(&words[1..], cwd)
}

/// A section (or REPORT.md) without what is measured rather than seeded:
/// the minutes of training in its heading and the "s per run" column.
pub fn without_timings(section: &str) -> String {
    let mut timed_table = false;
    let mut lines = Vec::new();
    for line in section.lines() {
        let mut line = line.to_string();
        if line.starts_with('`') && line.ends_with(" min of training)") {
            line.truncate(line.rfind(", ").expect("runs, minutes"));
        }
        if !line.starts_with('|') {
            timed_table = false;
        } else if line.ends_with("| s per run |") {
            timed_table = true;
        }
        if timed_table {
            let cut = line.trim_end_matches('|').rfind('|').expect("cells");
            line.truncate(cut + 1);
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// The study's section.md under `out`.
pub fn section(out: &Path, study: &str) -> String {
    let path = out.join(study).join("section.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The study's figure `file` under `out`.
pub fn figure(out: &Path, study: &str, file: &str) -> Vec<u8> {
    std::fs::read(out.join(study).join(file)).expect("a figure")
}

/// The trials a sweep's journal in `out` says ended, sorted, each as often
/// as it says so (a trial counted twice would show twice).
pub fn ended_trials(out: &Path) -> Vec<u64> {
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap_or_default();
    let mut trials: Vec<u64> = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "done")
        .map(|e| e["trial"].as_u64().unwrap())
        .collect();
    trials.sort();
    trials
}
