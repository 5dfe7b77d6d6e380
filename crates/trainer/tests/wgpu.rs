//! End to end on `--backend wgpu`: `cnn_res` trains a few steps, is killed,
//! resumes and predicts, and runs trained on one backend give the same
//! answers on the other. Where `trainer devices` finds no adapter (the same
//! question `--backend wgpu` asks) each test says so in one line and stops
//! (under CI it fails: `testdata::missing`).
//!
//! On a software adapter (Mesa's lavapipe, which `.ci/run` installs) every
//! process compiles its kernels again, so the data and runs are tiny.

mod common;

use common::{course_or_synthetic, text, trainer};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Images per class; one of each class is held out for validation.
const PER_CLASS: usize = 4;

fn run(args: &[&str]) -> Output {
    let out = trainer().args(args).output().expect("trainer runs");
    assert!(
        out.status.success(),
        "trainer {}: {}{}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Whether `--backend wgpu` can start here, as `trainer devices` answers;
/// says so in one line (under CI: fails) where not.
fn wgpu_adapter() -> bool {
    let out = trainer().arg("devices").output().expect("trainer runs");
    if !out.status.success() {
        let error = text(&out.stderr);
        let error = error.trim().replace('\n', " ");
        testdata::missing(&format!("{}: trainer devices: {error}", testdata::NO_WGPU));
    }
    out.status.success()
}

/// Polls a run folder until epoch `epoch`'s checkpoints (model, optimizer,
/// scheduler) are all saved: what `--resume` continues from.
fn wait_for_checkpoint(run_dir: &Path, epoch: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    let saved = |kind: &str| {
        run_dir
            .join("checkpoint")
            .join(format!("{kind}-{epoch}.bpk"))
            .is_file()
    };
    while !["model", "optim", "scheduler"].into_iter().all(saved) {
        assert!(
            Instant::now() < deadline,
            "no epoch {epoch} checkpoint in time"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `predict` of every image of `data` with the run in `run_dir` on
/// `backend`: (path, class, probability) per image.
fn predict(run_dir: &Path, data: &Path, backend: &str) -> Vec<(String, String, f64)> {
    let csv = run_dir.join(format!("predict-{backend}.csv"));
    run(&[
        "predict",
        "--checkpoint",
        run_dir.to_str().unwrap(),
        "--backend",
        backend,
        "--csv",
        csv.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let probability = fields[3].parse().unwrap();
            (fields[0].to_string(), fields[1].to_string(), probability)
        })
        .collect()
}

/// The same class for every image on both backends, and probabilities
/// within 1e-4 (f32 sums in another order).
fn assert_same_answers(run_dir: &Path, data: &Path) {
    let (flex, wgpu) = (
        predict(run_dir, data, "flex"),
        predict(run_dir, data, "wgpu"),
    );
    assert_eq!(flex.len(), dataset::NUM_CLASSES * PER_CLASS);
    for (a, b) in flex.iter().zip(&wgpu) {
        assert_eq!((&a.0, &a.1), (&b.0, &b.1), "flex {a:?}, wgpu {b:?}");
        assert!((a.2 - b.2).abs() < 1e-4, "flex {a:?}, wgpu {b:?}");
    }
}

/// A short `cnn_res` run: no augmentation, batch 12 (three steps an epoch).
fn cnn_res_run(data: &Path, run_dir: &Path, backend: &str, epochs: &str) -> Vec<String> {
    let (data, run_dir) = (data.to_str().unwrap(), run_dir.to_str().unwrap());
    [
        "--model",
        "cnn_res",
        "--backend",
        backend,
        "--data",
        data,
        "--epochs",
        epochs,
        "--batch-size",
        "12",
        "--augment",
        "none",
        "--artifacts",
        run_dir,
    ]
    .map(String::from)
    .to_vec()
}

// Guards the bug that once kept Burn's kernel fusion out of the build: read
// lazily, the Adam moments a wgpu checkpoint saved held the values of later
// steps, and the resumed epoch trained to a NaN loss at its second step
// (`kernels::prepare_gpu_runtime`).
#[test]
fn cnn_res_trains_on_wgpu_is_killed_resumes_and_predicts_the_same_on_flex() {
    if !wgpu_adapter() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), PER_CLASS);
    let run_dir = tmp.path().join("run");
    let args = cnn_res_run(&data, &run_dir, "wgpu", "3");

    let mut child = trainer()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&run_dir, 1);
    // Into epoch 2 (a step takes longer than this), then SIGKILL.
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();

    let mut resume = args.clone();
    resume.push("--resume".into());
    let resume: Vec<&str> = resume.iter().map(String::as_str).collect();
    let out = run(&resume);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("resuming"), "{stdout}");
    assert!(stdout.contains("epoch   3/3"), "{stdout}");
    // The adapter is named once; a software one is warned about once.
    assert_eq!(stderr.matches("wgpu adapter: ").count(), 1, "{stderr}");
    let software = stderr.contains("CPU, software");
    assert_eq!(
        stderr.matches("is a software adapter").count(),
        usize::from(software),
        "{stderr}"
    );
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 3 * 2, "{metrics}");
    assert!(run_dir.join("model.bpk").is_file());

    assert_same_answers(&run_dir, &data);
}

#[test]
fn a_run_trained_on_flex_predicts_the_same_on_wgpu() {
    if !wgpu_adapter() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), PER_CLASS);
    let run_dir = tmp.path().join("run");
    let args = cnn_res_run(&data, &run_dir, "flex", "1");
    run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_same_answers(&run_dir, &data);
}
