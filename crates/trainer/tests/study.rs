//! `trainer study` as a plan of runs, without a cluster: the plan's
//! commands run one by one, then `--collect`, write the section the
//! in-process study writes (same seeds, same numbers), and `--collect`
//! refuses, naming them, while any run is unfinished.

mod common;

use common::{STUDIES, figure, ok, plan, refused, run_line, section, small_data, without_timings};

/// One study trained in this process into `a/`, and by its plan's
/// commands into `b/` then collected: the same section and figures.
fn plan_then_collect_equals_in_process(study: &str, figures: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let Some(data) = small_data(cwd, 24) else {
        return testdata::missing(testdata::NO_COURSE_DATA);
    };
    let data = data.to_str().unwrap();
    let flags = |out: &'static str| ["study", study, "--quick", "--data", data, "--out", out];
    ok(&flags("a"), cwd);

    let lines = plan(&flags("b"), cwd);
    assert!(lines.len() >= 2, "{lines:?}");
    let error = refused(&[&flags("b")[..], &["--collect"]].concat(), cwd);
    assert!(
        error.contains(&format!(
            "{} of {} runs are missing",
            lines.len(),
            lines.len()
        )),
        "{error}"
    );
    run_line(&lines[0], cwd);
    // The runs still missing are named, and only they.
    let error = refused(&[&flags("b")[..], &["--collect"]].concat(), cwd);
    let folder = |line: &str| {
        let words = shlex::split(line).unwrap();
        let at = words
            .iter()
            .position(|w| w == "--artifacts" || w == "--out");
        words[at.unwrap() + 1].clone()
    };
    let missing = format!("{} of {} runs", lines.len() - 1, lines.len());
    assert!(error.contains(&missing), "{error}");
    assert!(!error.contains(&folder(&lines[0])), "{error}");
    for line in &lines[1..] {
        assert!(error.contains(&folder(line)), "{error}");
        run_line(line, cwd);
    }
    ok(&[&flags("b")[..], &["--collect"]].concat(), cwd);

    let (a, b) = (cwd.join("a"), cwd.join("b"));
    assert_eq!(
        without_timings(&section(&b, study)),
        without_timings(&section(&a, study))
    );
    for file in figures {
        assert!(
            figure(&b, study, file) == figure(&a, study, file),
            "{file} differs"
        );
    }
    let report = |dir: &std::path::Path| std::fs::read_to_string(dir.join("REPORT.md")).unwrap();
    assert_eq!(without_timings(&report(&b)), without_timings(&report(&a)));

    // Planned again, every run continues its folder, and a finished run
    // trains no more.
    let again = plan(&flags("b"), cwd);
    assert_eq!(again.len(), lines.len());
    let first = cwd.join(folder(&again[0]));
    let metrics = |dir: &std::path::Path| std::fs::read(dir.join("metrics.csv")).unwrap();
    let before = metrics(&first);
    run_line(&again[0], cwd);
    assert!(
        metrics(&first) == before,
        "a finished run was trained again"
    );
    if study != "sine" {
        assert!(again.iter().all(|l| l.contains(" --resume ")), "{again:?}");
    }
}

#[test]
fn a_hanzi12_study_through_its_plan() {
    plan_then_collect_equals_in_process("activation", &["accuracy.png"]);
}

#[test]
fn the_sine_study_through_its_plan() {
    plan_then_collect_equals_in_process("sine", &["fit.png", "loss.png"]);
}

#[test]
fn every_study_plans_each_run_once() {
    let tmp = tempfile::tempdir().unwrap();
    let all = plan(&["study", "all", "--out", "o"], tmp.path());
    let mut each = 0;
    for name in STUDIES {
        let lines = plan(&["study", name, "--out", "o"], tmp.path());
        assert!(!lines.is_empty(), "{name}");
        assert_eq!(all[each..each + lines.len()], lines[..], "{name}");
        each += lines.len();
    }
    assert_eq!(each, all.len());
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "a run planned twice");
    // 3 fits per sine setting and 3 seeds per setting elsewhere.
    assert_eq!(all.len() % 3, 0);
    let json = ok(
        &["study", "cnn", "--out", "o", "--plan", "--json"],
        tmp.path(),
    );
    for (line, command) in json
        .lines()
        .zip(plan(&["study", "cnn", "--out", "o"], tmp.path()))
    {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(value["command"], command);
        assert_eq!(value["progress"], "not started");
    }
}

#[test]
fn timings_are_cut_out_of_a_section() {
    let section = "`cargo run -p trainer -- study cnn` (2 runs, 0.3 min of training)\n\n\
                   | setting | valid | s per run |\n|---|---|---|\n| cnn | 95.00 | 12 |\n\n\
                   | the default's runs | accuracy % |\n|---|---|\n| one run | 96.00 |";
    assert_eq!(
        without_timings(section),
        "`cargo run -p trainer -- study cnn` (2 runs\n\n\
         | setting | valid |\n|---|---|\n| cnn | 95.00 |\n\n\
         | the default's runs | accuracy % |\n|---|---|\n| one run | 96.00 |"
    );
}
