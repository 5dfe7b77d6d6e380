//! End to end `--devices`: a run on two devices (two workers of Burn's
//! multi-device strategy on the CPU, the one kind of two devices this
//! machine has) learns as well as one-device runs of the same data, its
//! checkpoint predicts and evaluates on one device, it resumes on another
//! device count, and bad counts are one-line errors.

mod common;

use std::path::Path;
use std::process::Output;

use common::{course_or_synthetic, ok, text, trainer};

fn run(args: &[&str], cwd: &Path) -> Output {
    trainer()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("trainer runs")
}

/// A short MLP run of `data` into `run_dir`, on `devices` devices.
fn train(data: &Path, run_dir: &Path, seed: u64, devices: usize) -> String {
    let (seed, devices) = (seed.to_string(), devices.to_string());
    let args = [
        "--model",
        "mlp",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "4",
        "--seed",
        &seed,
        "--devices",
        &devices,
        "--artifacts",
        run_dir.to_str().unwrap(),
    ];
    ok(&args, data.parent().unwrap())
}

/// The last epoch's validation accuracy (%) in `metrics.csv`.
fn final_accuracy(run_dir: &Path) -> f64 {
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let last = metrics.lines().rfind(|l| l.contains(",valid,")).unwrap();
    last.split(',').nth(3).unwrap().parse().unwrap()
}

#[test]
fn two_devices_learn_as_well_as_one_and_their_checkpoint_runs_on_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 40);
    // The noise: one-device runs that differ only in their seed.
    let one: Vec<f64> = (1..=3)
        .map(|seed| {
            let dir = tmp.path().join(format!("one-{seed}"));
            train(&data, &dir, seed, 1);
            final_accuracy(&dir)
        })
        .collect();
    let two_dir = tmp.path().join("two");
    let stdout = train(&data, &two_dir, 1, 2);
    assert!(
        stdout.contains("on 2 devices (32 images each of every step's 64)"),
        "{stdout}"
    );
    let two = final_accuracy(&two_dir);
    let (low, high) = one
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &a| (l.min(a), h.max(a)));
    // Within the seeds' spread, widened by as much again (at least 5
    // points: a few validation images) on each side.
    let margin = (high - low).max(5.0);
    eprintln!("one device: {one:?}; two devices: {two}");
    assert!(
        two >= low - margin && two <= high + margin,
        "two devices {two}% outside one device's {low}..{high}% ± {margin}"
    );
    assert!(
        two > 100.0 / 12.0 + 10.0,
        "two devices did not learn: {two}%"
    );

    // Its checkpoint predicts and evaluates on one device.
    let r = two_dir.to_str().unwrap();
    let image = data
        .join("3")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stdout = ok(
        &["predict", "--checkpoint", r, image.to_str().unwrap()],
        tmp.path(),
    );
    assert!(
        dataset::CHARACTERS.iter().any(|c| stdout.contains(*c)),
        "{stdout}"
    );
    let stdout = ok(
        &["eval", "--checkpoint", r, "--data", data.to_str().unwrap()],
        tmp.path(),
    );
    assert!(stdout.contains("accuracy"), "{stdout}");
}

#[test]
fn a_two_device_run_resumes_on_one_device_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 10);
    let run_dir = tmp.path().join("run");
    train(&data, &run_dir, 1, 2);
    let r = run_dir.to_str().unwrap();
    let devices = || {
        let config = std::fs::read_to_string(run_dir.join("config.json")).unwrap();
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        config["execution"]["devices"].as_u64()
    };
    assert_eq!(devices(), Some(2));
    let resume = |epochs: &str, count: &str| {
        let args = [
            "--artifacts",
            r,
            "--resume",
            "--epochs",
            epochs,
            "--devices",
            count,
        ];
        ok(&args, tmp.path())
    };
    let stdout = resume("5", "1");
    assert!(stdout.contains("epoch   5/5"), "{stdout}");
    assert!(!stdout.contains("devices ("), "{stdout}");
    assert_eq!(devices(), Some(1));
    let stdout = resume("6", "2");
    assert!(stdout.contains("on 2 devices"), "{stdout}");
    assert_eq!(devices(), Some(2));
    let rows = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 6 * 2);
}

#[test]
fn bad_device_counts_get_a_one_line_error_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 3);
    let d = data.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--devices", "0"], "--devices 0: expected at least 1"),
        (
            &["--devices", "3"],
            "--devices 3: --batch-size 64 does not split evenly across 3 devices",
        ),
        (&["--devices", "two"], "'two' for '--devices"),
    ];
    for (flags, needle) in cases {
        let mut args = vec!["--data", d, "--model", "mlp", "--artifacts", "bad"];
        args.extend_from_slice(flags);
        let out = run(&args, tmp.path());
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{flags:?} should fail");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
        assert!(!tmp.path().join("bad").exists(), "{flags:?} wrote a run");
    }
}
