//! `trainer sweep`: trials that are ordinary run folders, a journal that
//! survives `kill -9` (the same command again ends with exactly the asked
//! number of trials, none counted twice), the report, and bad input in one
//! line.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{course_or_synthetic, ended_trials, ok, refused, trainer};

/// `trainer sweep NAME` of `trials` small trials of `model` on `data` into `out`.
fn sweep(name: &str, model: &str, data: &Path, out: &Path, trials: usize) -> Vec<String> {
    let mut argv: Vec<String> = ["sweep", name, "--model", model, "--data"]
        .map(String::from)
        .to_vec();
    argv.push(data.display().to_string());
    argv.extend(
        [
            "--epochs",
            "3",
            "--search",
            "lr=log:3e-4:3e-2",
            "--pruner",
            "none",
            "--trials",
        ]
        .map(String::from),
    );
    argv.push(trials.to_string());
    argv.extend(["--out".to_string(), out.display().to_string()]);
    argv
}

/// The journal's events.
fn journal(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_sweep_trains_its_trials_as_run_folders_and_reports_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 10);
    let out = tmp.path().join("sweep");
    let stdout = ok(&sweep("small", "mlp", &data, &out, 4), tmp.path());
    assert!(stdout.contains("report in"), "{stdout}");
    assert_eq!(ended_trials(&out), [0, 1, 2, 3]);
    // Each trial is an ordinary run: predict takes it.
    let trial: PathBuf = out.join("trial-002");
    let image = data.join("3/1.bmp");
    let stdout = ok(
        &[
            "predict",
            "--checkpoint",
            trial.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(stdout.contains("1.bmp"), "{stdout}");
    // The report names the best trial, and its recipe trains again.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("## Best trials") && report.contains("## What mattered"),
        "{report}"
    );
    assert!(out.join("report.png").is_file());
    let again = tmp.path().join("again");
    let best = out.join("best-recipe.json");
    ok(
        &[
            "train",
            "--recipe",
            best.to_str().unwrap(),
            "--artifacts",
            again.to_str().unwrap(),
        ],
        tmp.path(),
    );
    // The same command again: nothing left to do, nothing counted twice.
    ok(&sweep("small", "mlp", &data, &out, 4), tmp.path());
    assert_eq!(ended_trials(&out), [0, 1, 2, 3]);
    let stdout = ok(
        &["sweep", "small", "--report", "--out", out.to_str().unwrap()],
        tmp.path(),
    );
    assert!(stdout.contains("4 trials ended"), "{stdout}");
}

/// `kill -9` in the middle of a trial, then the same command: the trial is
/// taken over and resumed, and the sweep ends with exactly its trials.
#[test]
fn a_sweep_killed_mid_trial_ends_with_exactly_its_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 20);
    let out = tmp.path().join("sweep");
    let argv = sweep("killed", "cnn_res", &data, &out, 3);
    let mut child = trainer()
        .args(&argv)
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Trial 1 has saved an epoch of its three (all three checkpoint files).
    let checkpoint = out.join("trial-001/checkpoint");
    let saved = || {
        ["model", "optim", "scheduler"]
            .iter()
            .all(|k| checkpoint.join(format!("{k}-1.bpk")).is_file())
    };
    let started = Instant::now();
    while !saved() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "trial 1 never trained an epoch"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(ended_trials(&out), [0], "only trial 0 had ended");

    let stdout = ok(&argv, tmp.path());
    assert!(
        stdout.contains("trial 1: its worker stopped; going on with it"),
        "{stdout}"
    );
    assert!(stdout.contains("resuming"), "{stdout}");
    assert_eq!(ended_trials(&out), [0, 1, 2]);
    let asked = journal(&out).iter().filter(|e| e["event"] == "ask").count();
    assert_eq!(asked, 4, "trial 1 asked twice, the others once");
}

/// A trial that diverges is a result (failed), not the end of the sweep.
#[test]
fn a_diverging_trial_fails_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 20);
    let out = tmp.path().join("sweep");
    let argv = [
        "sweep",
        "diverge",
        "--model",
        "mlp",
        "--data",
        data.to_str().unwrap(),
        "--optimizer",
        "sgd",
        "--schedule",
        "constant",
        "--epochs",
        "3",
        "--search",
        "lr=choice:1000,0.01",
        "--sampler",
        "grid",
        "--pruner",
        "none",
        "--out",
        out.to_str().unwrap(),
    ];
    let stdout = ok(&argv, tmp.path());
    assert!(
        stdout.contains("trial 0 failed: ") && stdout.contains("diverged"),
        "{stdout}"
    );
    assert_eq!(ended_trials(&out), [0, 1]);
    let endings: Vec<String> = journal(&out)
        .iter()
        .filter(|e| e["event"] == "done")
        .map(|e| e["ending"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(endings, ["failed", "finished"]);
}

#[test]
fn bad_sweeps_are_refused_in_one_line_and_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 4);
    let out = tmp.path().join("sweep");
    let base = sweep("bad", "mlp", &data, &out, 1);
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let error = refused(&with(&["--search", "lr"]), tmp.path());
    assert!(
        error.contains("--search lr") && error.contains("SETTING=DOMAIN"),
        "{error}"
    );
    let error = refused(
        &with(&["--search", "model.dropout_rate=float:0:0.5"]),
        tmp.path(),
    );
    assert!(
        error.contains("model.dropout_rate: the recipe has no such setting"),
        "{error}"
    );
    let space = tmp.path().join("space.txt");
    std::fs::write(&space, "# nothing here\n").unwrap();
    let error = refused(&with(&["--space", space.to_str().unwrap()]), tmp.path());
    assert!(error.contains("no settings in it"), "{error}");
    std::fs::write(&space, "lr=log:1e-3\n").unwrap();
    let error = refused(&with(&["--space", space.to_str().unwrap()]), tmp.path());
    assert!(
        error.contains("line 1") && error.contains("LOW:HIGH"),
        "{error}"
    );
    assert!(!out.exists(), "a refused sweep wrote its folder");

    // A sweep, then the same name with another recipe: another sweep's journal.
    ok(&base, tmp.path());
    let journal_before = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let error = refused(&with(&["--batch-size", "32"]), tmp.path());
    assert!(
        error.contains("the journal of another sweep") && error.contains("batch_size 64 → 32"),
        "{error}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("journal.jsonl")).unwrap(),
        journal_before
    );

    // A finished trial's folder deleted by hand: its result stays in the
    // journal, and the report's recipe does not need the folder.
    std::fs::remove_dir_all(out.join("trial-000")).unwrap();
    let stdout = ok(
        &["sweep", "bad", "--report", "--out", out.to_str().unwrap()],
        tmp.path(),
    );
    assert!(stdout.contains("1 trials ended"), "{stdout}");
    assert!(out.join("best-recipe.json").is_file());
}
