//! End-to-end tests of the real `trainer` binary on small real data (a few
//! dozen images per class copied to a temp folder from `$HANZI12_DATA` or
//! `../shared/hanzi12/train`), or on synthetic data where there is none.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{STUDIES, course_or_synthetic, text, trainer};

fn run<S: AsRef<std::ffi::OsStr>>(args: &[S], cwd: &Path) -> Output {
    trainer()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("trainer runs")
}

/// Flags of a short MLP training run: the cheapest real training there is.
fn mlp_run(data: &Path, epochs: usize, artifacts: &Path) -> Vec<String> {
    let (data, artifacts) = (data.to_str().unwrap(), artifacts.to_str().unwrap());
    let epochs = epochs.to_string();
    [
        "--model",
        "mlp",
        "--data",
        data,
        "--epochs",
        &epochs,
        "--artifacts",
        artifacts,
    ]
    .map(String::from)
    .to_vec()
}

fn assert_clean_failure(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(
        !stderr.contains("panicked"),
        "panic instead of an error: {stderr}"
    );
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    let error_lines = stderr.lines().filter(|l| l.starts_with("error")).count();
    assert!(error_lines >= 1, "{stderr}");
}

#[test]
fn train_then_predict_and_eval_from_the_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 30);
    let run_dir = tmp.path().join("run");
    let out = run(&mlp_run(&data, 3, &run_dir), tmp.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("epoch   3/3"), "{stdout}");
    assert!(
        stdout.contains("done: best validation accuracy"),
        "{stdout}"
    );
    for file in [
        "config.json",
        "metrics.csv",
        "model.bpk",
        "checkpoint/model-3.bpk",
        "checkpoint/optim-3.bpk",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().next().unwrap(),
        "epoch,split,loss,accuracy,lr,seconds,images_per_second"
    );
    assert_eq!(metrics.lines().count(), 1 + 3 * 2);

    // predict: one image, and a folder into a CSV.
    let image = data
        .join("2")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = run(
        &[
            "predict",
            "--checkpoint",
            run_dir.to_str().unwrap(),
            image.to_str().unwrap(),
        ],
        tmp.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        dataset::CHARACTERS.iter().any(|c| stdout.contains(*c)),
        "{stdout}"
    );
    let csv = tmp.path().join("pred.csv");
    let out = run(
        &[
            "predict",
            "--checkpoint",
            run_dir.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            data.join("5").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = std::fs::read_to_string(csv).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        "path,class,character,probability,p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11,p12"
    );
    assert_eq!(csv.lines().count(), 31);

    // eval --json: parses, and beats chance (1/12) after a short training.
    let out = run(
        &[
            "eval",
            "--checkpoint",
            run_dir.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["n"], 360);
    let accuracy = json["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.3, "accuracy {accuracy}");
    assert!(
        run_dir.join("eval/confusion.png").is_file() && run_dir.join("eval/mistakes.png").is_file()
    );

    // An ensemble of two runs, with test-time shifts, on the held-out images only.
    let second = tmp.path().join("second");
    let mut args = mlp_run(&data, 1, &second);
    args.extend(["--seed".to_string(), "7".to_string()]);
    assert!(run(&args, tmp.path()).status.success());
    let (first, second) = (run_dir.to_str().unwrap(), second.to_str().unwrap());
    let d = data.to_str().unwrap();
    let ensemble = ["--checkpoint", first, "--checkpoint", second, "--tta"];
    let out = run(
        &[
            &["eval", "--data", d, "--held-out", "--json"][..],
            &ensemble,
        ]
        .concat(),
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("scoring an ensemble of 2 runs, averaged over 5 shifted views"),
        "{stdout}"
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    // The last 16 % of each class's 30 files: 5 per class.
    assert_eq!(json["n"], 60, "{stdout}");
    let out = run(
        &[&["predict", image.to_str().unwrap()][..], &ensemble].concat(),
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &[
            "eval",
            "--checkpoint",
            first,
            "--checkpoint",
            "nowhere",
            "--data",
            d,
        ],
        tmp.path(),
    );
    assert_clean_failure(&out, "--checkpoint nowhere");

    // Fine-tuning starts from the run's weights; a different network cannot.
    let tuned = tmp.path().join("tuned");
    let d = data.to_str().unwrap();
    let init = run_dir.to_str().unwrap();
    let mut fine_tune = mlp_run(&data, 1, &tuned);
    fine_tune.extend(["--init".to_string(), init.to_string()]);
    let out = run(&fine_tune, tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("starting from the weights of"));
    let out = run(
        &[
            "--model",
            "cnn",
            "--data",
            d,
            "--epochs",
            "1",
            "--init",
            init,
            "--artifacts",
            "x",
        ],
        tmp.path(),
    );
    assert_clean_failure(&out, "--init");
    assert!(
        !tmp.path().join("x").exists(),
        "a refused run left a folder behind"
    );

    // A second run into the same folder is refused rather than overwriting it.
    let out = run(
        &[
            "--model",
            "mlp",
            "--data",
            data.to_str().unwrap(),
            "--artifacts",
            run_dir.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_clean_failure(&out, "already holds a run");
}

/// The final metrics rows of a run, without the timing columns.
fn final_figures(run_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(run_dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn a_run_killed_mid_epoch_resumes_to_the_same_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 80);
    let args = |dir: &Path| mlp_run(&data, 3, dir);
    let whole = tmp.path().join("whole");
    let out = trainer().args(args(&whole)).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let killed = tmp.path().join("killed");
    let mut child = trainer()
        .args(args(&killed))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_row(&killed, "1,valid");
    // Into epoch 2, then SIGKILL.
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();

    // The killed process held the run folder's lock: the OS let it go.
    let mut resume = args(&killed);
    resume.push("--resume".into());
    let out = trainer().args(&resume).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(final_figures(&killed), final_figures(&whole));
}

/// `--resume` with other flags: a flag that would change the recipe is
/// refused by name and nothing is written; `--epochs` lengthens the run on
/// purpose (said, and recorded in config.json) and `--backend` moves it to
/// another backend. Resuming a flex run never starts a GPU: with Mesa's
/// device-select layer on (`NODEVICE_SELECT=0`) and no window system, a
/// Vulkan instance would print its `XDG_RUNTIME_DIR` complaint.
#[test]
fn resume_takes_where_it_runs_refuses_recipe_changes_and_lengthens_on_purpose() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 10);
    let run_dir = tmp.path().join("run");
    let out = run(&mlp_run(&data, 2, &run_dir), tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = || std::fs::read_to_string(run_dir.join("config.json")).unwrap();
    let saved = config();
    let r = run_dir.to_str().unwrap();

    let out = run(
        &["--artifacts", r, "--resume", "--lr", "0.5", "--seed", "3"],
        tmp.path(),
    );
    assert_clean_failure(
        &out,
        "the run's recipe (its config.json) would change: lr 0.001 → 0.5, seed 42 → 3;",
    );
    assert_eq!(config(), saved, "a refused resume wrote its config");

    let out = trainer()
        .args([
            "--artifacts",
            r,
            "--resume",
            "--epochs",
            "3",
            "--backend",
            "ndarray",
        ])
        .current_dir(tmp.path())
        .env("NODEVICE_SELECT", "0")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("changes from 2 to 3 epochs"), "{stdout}");
    assert!(stdout.contains("epoch   3/3"), "{stdout}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    let config: serde_json::Value = serde_json::from_str(&config()).unwrap();
    assert_eq!(
        (
            config["recipe"]["epochs"].as_u64(),
            config["execution"]["backend"].as_str()
        ),
        (Some(3), Some("ndarray"))
    );
    assert_eq!(final_figures(&run_dir).len(), 6);
}

/// `trainer devices` on a machine without a window system says nothing
/// about one (Mesa's device-select layer is kept quiet).
#[test]
fn devices_print_no_window_system_complaint() {
    let out = trainer()
        .arg("devices")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}

#[test]
fn a_second_process_on_a_running_run_folder_is_refused_naming_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 5);
    let run_dir = tmp.path().join("run");
    // Far more epochs than the test lets it train: it is killed below.
    let args = mlp_run(&data, 100_000, &run_dir);
    let mut first = trainer()
        .args(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_row(&run_dir, "1,valid");

    let mut resume = args.clone();
    resume.push("--resume".into());
    let out = run(&resume, tmp.path());
    let pid = first.id();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_clean_failure(&out, &format!("(pid {pid}) is writing this run folder"));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(run_dir.to_str().unwrap()), "{stderr}");
}

/// Polls `metrics.csv` of a run until it has a row starting with `prefix`.
fn wait_for_row(run_dir: &Path, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !std::fs::read_to_string(run_dir.join("metrics.csv"))
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with(prefix))
    {
        assert!(Instant::now() < deadline, "no '{prefix}' row in time");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_c_stops_cleanly_keeps_the_finished_epochs_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 80);
    let run_dir = tmp.path().join("run");
    let args = mlp_run(&data, 40, &run_dir);
    let child = trainer()
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_row(&run_dir, "2,valid");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("interrupted by Ctrl-C"), "{stdout}");
    assert!(text(&out.stderr).contains("Ctrl-C"));
    assert!(run_dir.join("model.bpk").is_file());

    let mut resume = args.clone();
    resume.push("--resume".into());
    let out = run(&resume, tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = final_figures(&run_dir);
    assert_eq!(rows.len(), 2 * 40, "{rows:?}");
}

#[test]
fn bad_input_gets_a_one_line_error_and_no_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 3);
    let d = data.to_str().unwrap();
    std::fs::write(tmp.path().join("a-file"), "not a folder").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--data", d, "--batch-size", "0"], "--batch-size"),
        (&["--data", d, "--lr", "-1"], "--lr"),
        (&["--data", d, "--lr", "NaN"], "--lr"),
        (
            &["--data", d, "--label-smoothing", "1"],
            "--label-smoothing 1",
        ),
        (
            &["--data", d, "--label-smoothing=-0.1"],
            "--label-smoothing -0.1",
        ),
        (
            &["--data", d, "--model", "cnn_dropout", "--dropout", "1.5"],
            "--dropout",
        ),
        (
            &["--data", d, "--model", "resnet"],
            "unknown model 'resnet'",
        ),
        (&["--data", d, "--backend", "tpu"], "unknown backend 'tpu'"),
        (
            &["--data", d, "--model", "mlp", "--hidden", "abc"],
            "--hidden",
        ),
        (
            &["--data", "no/such/folder", "--model", "mlp"],
            "no/such/folder",
        ),
        (
            &["predict", "--checkpoint", "no/such/run", d],
            "no/such/run",
        ),
        (
            &["eval", "--checkpoint", "no/such/run", "--data", d],
            "no/such/run",
        ),
    ];
    for (args, needle) in cases {
        let out = run(args, tmp.path());
        assert_clean_failure(&out, needle);
    }
    // Without an adapter the GPU backend is refused, naming the CPU one, and nothing is written.
    let gpu_args = [
        "--data",
        d,
        "--model",
        "mlp",
        "--backend",
        "wgpu",
        "--artifacts",
        "gpu",
    ];
    if let Some(out) = run_without_vulkan(&gpu_args, tmp.path()) {
        assert_clean_failure(&out, "--backend flex");
        assert!(!tmp.path().join("gpu").exists());
    }
}

/// `trainer ARGS` with the Vulkan loader pointed at no driver, as on a
/// machine without a GPU or Mesa's software Vulkan; `None` (said in one line)
/// where `trainer devices` still finds an adapter so (Metal, DirectX 12).
fn run_without_vulkan(args: &[&str], cwd: &Path) -> Option<Output> {
    let without_vulkan = || {
        let mut command = trainer();
        for variable in ["VK_ICD_FILENAMES", "VK_DRIVER_FILES"] {
            command.env(variable, "/nonexistent/no-driver.json");
        }
        command.env_remove("VK_ADD_DRIVER_FILES").current_dir(cwd);
        command
    };
    let devices = without_vulkan().arg("devices").output().unwrap();
    if devices.status.success() {
        eprintln!(
            "an adapter is found without Vulkan drivers: the refusal without one is not tested here"
        );
        return None;
    }
    Some(without_vulkan().args(args).output().unwrap())
}

#[test]
fn a_diverging_run_stops_with_the_epoch_and_step() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 20);
    let out = run(
        &[
            "--model",
            "mlp",
            "--data",
            data.to_str().unwrap(),
            "--optimizer",
            "sgd",
            "--lr",
            "1000",
            "--schedule",
            "constant",
            "--epochs",
            "3",
            "--artifacts",
            "run",
        ],
        tmp.path(),
    );
    assert_clean_failure(&out, "diverged");
    let stderr = text(&out.stderr);
    let (_, at) = stderr.split_once("at epoch ").expect("names the epoch");
    let (epoch, rest) = at.split_once(", step ").expect("names the step");
    assert!(
        epoch.parse::<usize>().is_ok_and(|e| (1..=3).contains(&e)),
        "{stderr}"
    );
    assert!(rest.starts_with(|c: char| c.is_ascii_digit()), "{stderr}");
}

#[test]
fn damaged_or_mismatched_checkpoints_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 10);
    let run_dir = tmp.path().join("run");
    let out = run(&mlp_run(&data, 1, &run_dir), tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let eval = |dir: &Path| {
        run(
            &[
                "eval",
                "--checkpoint",
                dir.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
            ],
            tmp.path(),
        )
    };

    // A config saying another model than the weights are for.
    let other = tmp.path().join("other");
    copy_dir(&run_dir, &other);
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["recipe"]["model"]["network"], "mlp");
    config["recipe"]["model"] = serde_json::json!({ "network": "cnn_res" });
    std::fs::write(other.join("config.json"), config.to_string()).unwrap();
    assert_clean_failure(&eval(&other), "model.bpk");

    // Truncated weights.
    let truncated = tmp.path().join("truncated");
    copy_dir(&run_dir, &truncated);
    let bytes = std::fs::read(truncated.join("model.bpk")).unwrap();
    std::fs::write(truncated.join("model.bpk"), &bytes[..bytes.len() / 2]).unwrap();
    assert_clean_failure(&eval(&truncated), "model.bpk");

    // A config that is not JSON.
    std::fs::write(truncated.join("config.json"), "{ not json").unwrap();
    assert_clean_failure(&eval(&truncated), "config.json");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn with_no_data_the_main_job_trains_on_synthetic_handwriting() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--augment",
            "none",
            "--artifacts",
            "run",
        ],
        tmp.path(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", text(&out.stdout));
    // Said on stderr, like every note, so that stdout stays the command's result.
    assert!(stderr.contains("built-in synthetic images"), "{stderr}");
    assert!(stderr.contains("--data"), "{stderr}");
    assert!(tmp.path().join("run/model.bpk").is_file());

    // `eval` resolves --data as training does; stdout stays pure JSON.
    let out = run(&["eval", "--checkpoint", "run", "--json"], tmp.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("built-in synthetic images"));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["n"], 12 * 620);
}

#[test]
fn hand_written_backprop_fits_the_sine_and_trains_the_cnn() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["scratch", "--task", "sine"], tmp.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let error: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("final: sine fit mean absolute test error "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no final line in {stdout}"));
    assert!(error <= 0.01, "sine error {error}");

    let data = course_or_synthetic(tmp.path(), 20);
    let out = run(
        &[
            "scratch",
            "--task",
            "cnn",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "2",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("final:"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn every_study_runs_quick_plots_and_reports_then_reuses_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(dir.path(), 24);
    let args = ["study", "all", "--quick", "--data", data.to_str().unwrap()];
    let out = run(&args, dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let studies = dir.path().join("artifacts/studies-quick");
    let report = std::fs::read_to_string(studies.join("REPORT.md")).unwrap();
    let names = STUDIES;
    assert_eq!(report.matches("\n## ").count(), names.len(), "{report}");
    // Every figure the report shows is a PNG in the study's folder.
    let figures: Vec<&str> = report
        .split("](")
        .skip(1)
        .map(|rest| &rest[..rest.find(')').unwrap()])
        .collect();
    assert!(figures.len() >= names.len() + 2, "{figures:?}");
    for figure in &figures {
        let image = image::open(studies.join(figure)).unwrap();
        assert!(image.width() > 300, "{figure}");
    }
    for name in names {
        assert!(report.contains(&format!("study {name}")), "{name}");
        let runs = std::fs::read_dir(studies.join(name).join("runs")).unwrap();
        assert!(runs.count() >= 2, "{name}: a run per setting");
    }
    // Each hanzi12 run is a real training run with its metrics.
    let cnn_run = std::fs::read_dir(studies.join("cnn/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let metrics = std::fs::read_to_string(cnn_run.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("1,valid,")),
        "{metrics}"
    );
    // The variance shift was measured on every epoch's checkpoint.
    assert!(report.contains("running var / eval var"), "{report}");
    // The recipe scored its default's run with and without test-time shifts.
    assert!(report.contains("| one run, 5 shifted views |"), "{report}");

    // Again: the finished runs are reused, only the report is rewritten.
    let again = run(
        &["study", "cnn", "--quick", "--data", data.to_str().unwrap()],
        dir.path(),
    );
    assert!(again.status.success(), "{}", text(&again.stderr));
    let stdout = text(&again.stdout);
    assert_eq!(
        stdout.matches("finished earlier, reused").count(),
        2,
        "{stdout}"
    );
    assert!(!stdout.contains("epoch   1/1"), "{stdout}");
}

#[test]
fn a_study_refuses_bad_flags_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["study", "cnn", "--quick", "--seeds", "0"], dir.path());
    assert_clean_failure(&out, "--seeds 0");
    let gpu_args = ["study", "sine", "--quick", "--backend", "wgpu"];
    if let Some(out) = run_without_vulkan(&gpu_args, dir.path()) {
        assert_clean_failure(&out, "wgpu");
    }
    let out = run(&["study", "nonsense"], dir.path());
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nonsense"));
    assert!(
        !dir.path().join("artifacts").exists(),
        "nothing written on a refused start"
    );
}

#[test]
fn bench_trained_times_a_run_from_its_last_epoch_and_counts_subnormals() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 10);
    let run_dir = tmp.path().join("run");
    assert!(
        run(&mlp_run(&data, 1, &run_dir), tmp.path())
            .status
            .success()
    );
    let out = run(
        &[
            "bench",
            "--trained",
            run_dir.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--batch",
            "8",
            "--steps",
            "2",
            "--rounds",
            "1",
            "--json",
        ],
        tmp.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures["epoch"], 1);
    assert_eq!(figures["model"], "mlp");
    for key in [
        "fresh_img_per_s",
        "fresh_flushed_img_per_s",
        "trained_img_per_s",
        "trained_flushed_img_per_s",
    ] {
        assert!(figures[key].as_f64().unwrap() > 0.0, "{key}: {figures}");
    }
    for key in ["trained_subnormal_gradients", "trained_subnormal_moments"] {
        let share = figures[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{key}: {figures}");
    }
    // A folder that holds no run is one line naming it.
    let out = run(&["bench", "--trained", "nowhere"], tmp.path());
    assert_clean_failure(&out, "nowhere");
}
