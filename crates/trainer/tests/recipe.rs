//! A run's recipe as a file: `--recipe` repeats a run from its config.json,
//! `--print-recipe` writes what the flags make, flags beside a file are
//! said, and a run folder of the format before recipes (format 1, kept in
//! `tests/fixtures/run-v1`) still loads, predicts, evaluates and resumes.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

use common::{course_or_synthetic, ok, refused};

/// The metrics rows of a run without the timing columns.
fn figures(metrics: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').take(5).map(String::from).collect())
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_runs_config_json_as_recipe_repeats_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = course_or_synthetic(tmp.path(), 12);
    let first = tmp.path().join("first");
    let flags = [
        "--model",
        "mlp",
        "--hidden",
        "32",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "2",
        "--lr",
        "0.003",
        "--augment",
        "views4",
        "--label-smoothing",
        "0.1",
        "--seed",
        "9",
    ];
    let artifacts = |dir: &Path| ["--artifacts".to_string(), dir.display().to_string()];
    ok(
        &[
            &flags[..],
            &artifacts(&first).each_ref().map(String::as_str),
        ]
        .concat(),
        tmp.path(),
    );

    // --print-recipe writes the recipe those flags make, and trains nothing.
    let printed = ok(&[&flags[..], &["--print-recipe"]].concat(), tmp.path());
    let printed: Value = serde_json::from_str(&printed).unwrap();
    let saved = json(&first.join("config.json"));
    assert_eq!(printed["recipe"], saved["recipe"]);
    assert_eq!(printed["format"], 2);

    // The run's own config.json, trained again elsewhere: the same metrics.
    let again = tmp.path().join("again");
    let config = first.join("config.json");
    let mut repeat = vec!["--recipe".to_string(), config.display().to_string()];
    repeat.extend(artifacts(&again));
    let stdout = ok(&repeat, tmp.path());
    assert!(!stdout.contains("(a flag)"), "{stdout}");
    assert_eq!(
        figures(&again.join("metrics.csv")),
        figures(&first.join("metrics.csv"))
    );
    assert_eq!(json(&again.join("config.json"))["recipe"], saved["recipe"]);

    // A flag beside the file changes that one setting, and says so.
    let third = tmp.path().join("third");
    let mut changed = repeat[..2].to_vec();
    changed.extend(["--epochs".to_string(), "1".to_string()]);
    changed.extend(artifacts(&third));
    let stdout = ok(&changed, tmp.path());
    assert!(
        stdout.contains("config.json: epochs 2 → 1 (a flag)"),
        "{stdout}"
    );
    let mut expected = saved["recipe"].clone();
    expected["epochs"] = 1.into();
    assert_eq!(json(&third.join("config.json"))["recipe"], expected);
}

#[test]
fn bad_recipe_files_are_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("recipe.json");
    let f = file.to_str().unwrap();
    let error = refused(&["--recipe", f], tmp.path());
    assert!(
        error.contains("--recipe") && error.contains("recipe.json"),
        "{error}"
    );

    let printed = ok(&["--model", "mlp", "--print-recipe"], tmp.path());
    let mut recipe: Value = serde_json::from_str(&printed).unwrap();
    recipe["recipe"]["learning_rate"] = 0.1.into();
    std::fs::write(&file, recipe.to_string()).unwrap();
    let error = refused(&["--recipe", f], tmp.path());
    assert!(error.contains("unknown field `learning_rate`"), "{error}");

    recipe["recipe"]
        .as_object_mut()
        .unwrap()
        .remove("learning_rate");
    recipe["format"] = 3.into();
    std::fs::write(&file, recipe.to_string()).unwrap();
    let error = refused(&["--recipe", f], tmp.path());
    assert!(
        error.contains("format 3: this trainer reads formats 1 to 2"),
        "{error}"
    );

    recipe["format"] = 2.into();
    recipe["recipe"]["batch_size"] = 0.into();
    std::fs::write(&file, recipe.to_string()).unwrap();
    let error = refused(&["--recipe", f], tmp.path());
    assert!(
        error.contains("--batch-size 0: expected at least 1"),
        "{error}"
    );
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().count() == 1,
        "nothing written"
    );
}

/// The fixture's run folder, copied to `dir` (tests never write into it).
fn format_1_run(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-v1");
    let run = dir.join("run-v1");
    for file in ["config.json", "metrics.csv", "model.bpk"] {
        std::fs::create_dir_all(run.join("checkpoint")).unwrap();
        std::fs::copy(fixture.join(file), run.join(file)).unwrap();
    }
    for kind in ["model", "optim", "scheduler"] {
        let file = format!("checkpoint/{kind}-2.bpk");
        std::fs::copy(fixture.join(&file), run.join(&file)).unwrap();
    }
    run
}

/// A run folder written by the trainer of 2026-12-06 (79cd546), before
/// recipes: `trainer train --model mlp --hidden 4 --epochs 2 --per-class 12
/// --data-seed 5 --keep-every-epoch`, the second epoch's checkpoint kept.
/// Predict, eval and resume take it; the
/// resumed epoch is the one that trainer trained (`run-v1-resumed-to-3.metrics.csv`,
/// recorded by it), within what another CPU's rounding moves.
#[test]
fn a_run_folder_of_format_1_predicts_evaluates_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = format_1_run(tmp.path());
    let r = run.to_str().unwrap();
    let data = course_or_synthetic(tmp.path(), 4);
    let image = data.join("1/1.bmp");
    let stdout = ok(
        &["predict", "--checkpoint", r, image.to_str().unwrap()],
        tmp.path(),
    );
    assert!(stdout.contains("1.bmp"), "{stdout}");
    let stdout = ok(
        &["eval", "--checkpoint", r, "--data", data.to_str().unwrap()],
        tmp.path(),
    );
    assert!(stdout.contains("accuracy"), "{stdout}");

    let stdout = ok(&["--artifacts", r, "--resume", "--epochs", "3"], tmp.path());
    assert!(stdout.contains("changes from 2 to 3 epochs"), "{stdout}");
    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run-v1-resumed-to-3.metrics.csv");
    let (got, expected) = (figures(&run.join("metrics.csv")), figures(&expected));
    assert_eq!(got.len(), expected.len());
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(got[..2], expected[..2]);
        let number = |s: &String| s.parse::<f64>().unwrap();
        // Loss, then accuracy in % (one image of 24 validation ones is 4.17).
        assert!(
            (number(&got[2]) - number(&expected[2])).abs() < 2e-3,
            "{got:?} {expected:?}"
        );
        assert!(
            (number(&got[3]) - number(&expected[3])).abs() < 4.2,
            "{got:?} {expected:?}"
        );
    }
    // Resuming wrote the settings in this trainer's format, the same recipe.
    let config = json(&run.join("config.json"));
    assert_eq!(config["format"], 2);
    assert_eq!(config["recipe"]["epochs"], 3);
    assert_eq!(config["execution"]["backend"], "flex");
    assert_eq!(config["recipe"]["data"]["seed"], 5);
}
