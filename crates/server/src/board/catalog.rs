//! What the board shows, read from an artifacts folder on every request:
//! each run folder under it (any depth: studies' and sweeps' runs too)
//! with its recipe, status and best epoch, each sweep with its report, and
//! a run's per-epoch figures. Nothing here writes.

use hanzi12::RunDir;
use hanzi12::metrics::{EpochRow, Split};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// How deep the board looks for runs under its folder.
const DEPTH: usize = 5;

/// One run, as the board lists it.
#[derive(Serialize)]
pub struct RunSummary {
    /// Its folder, relative to the board's (the run's name in the API).
    pub id: String,
    pub network: String,
    /// `training` (a process holds its lock), `finished` (all its epochs),
    /// `pruned` (a sweep's trial stopped for trailing), `stopped`.
    pub status: &'static str,
    pub epochs_done: usize,
    pub epochs: usize,
    pub best_accuracy: Option<f64>,
    pub best_epoch: Option<usize>,
    /// Every setting of its recipe, by path (`lr`, `model.network`), as text.
    pub settings: BTreeMap<String, String>,
    /// The sweep it is a trial of, if any.
    pub sweep: Option<String>,
}

/// One sweep: its folder and whether its report's figure exists.
#[derive(Serialize)]
pub struct SweepSummary {
    pub id: String,
    pub name: String,
    pub trials: usize,
    pub report: bool,
}

/// Every run under `root`, by folder.
pub fn runs(root: &Path) -> Vec<RunSummary> {
    let mut found = Vec::new();
    walk(root, root, DEPTH, &mut found);
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<RunSummary>) {
    if dir.join("config.json").is_file() {
        if let Some(run) = summary(root, dir) {
            found.push(run);
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    if depth == 0 {
        return;
    }
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &entry.path(), depth - 1, found);
        }
    }
}

fn summary(root: &Path, dir: &Path) -> Option<RunSummary> {
    let run = RunDir::new(dir);
    // A folder that is not a run folder after all (or half-written) is left out.
    let recipe = run.settings().ok()?.recipe;
    let valid: Vec<EpochRow> = run
        .rows()
        .into_iter()
        .filter(|r| r.split == Split::Valid)
        .collect();
    let best = valid.iter().max_by(|a, b| {
        a.accuracy
            .total_cmp(&b.accuracy)
            .then(b.loss.total_cmp(&a.loss))
    });
    let epochs_done = valid.iter().map(|r| r.epoch).max().unwrap_or(0);
    let sweep_dir = dir.parent().filter(|p| p.join("journal.jsonl").is_file());
    let status = match (training(&run), epochs_done >= recipe.epochs) {
        (true, _) => "training",
        (false, true) => "finished",
        (false, false) if sweep_dir.is_some_and(|s| pruned(s, dir)) => "pruned",
        (false, false) => "stopped",
    };
    let sweep = sweep_dir.map(|p| relative(root, p));
    Some(RunSummary {
        id: relative(root, dir),
        network: recipe.model.name().to_string(),
        status,
        epochs_done,
        epochs: recipe.epochs,
        best_accuracy: best.map(|r| r.accuracy),
        best_epoch: best.map(|r| r.epoch),
        // Through text: an `f32` setting reads as written (0.1, not 0.10000000149…).
        settings: flatten(&serde_json::from_str(&serde_json::to_string(&recipe).ok()?).ok()?),
        sweep,
    })
}

/// Whether a process trains the run now: it holds the run's lock (a
/// shared lock is refused while it does; taking one writes nothing).
fn training(run: &RunDir) -> bool {
    let Ok(file) = std::fs::File::open(run.path().join("lock")) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}

/// Whether the sweep's journal in `sweep` says its trial in `dir` was pruned.
fn pruned(sweep: &Path, dir: &Path) -> bool {
    let trial = dir
        .file_name()
        .and_then(|n| n.to_str()?.strip_prefix("trial-")?.parse::<u64>().ok());
    let journal = std::fs::read_to_string(sweep.join("journal.jsonl")).unwrap_or_default();
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|e| e["event"] == "done" && e["trial"].as_u64() == trial && e["ending"] == "pruned")
}

/// A recipe's settings by dotted path, each value as text.
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn go(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(fields) => {
                for (key, inner) in fields {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    go(&path, inner, out);
                }
            }
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    go("", value, &mut out);
    out
}

/// Every sweep under `root` (a folder with a `journal.jsonl`).
pub fn sweeps(root: &Path) -> Vec<SweepSummary> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_path_buf(), DEPTH)];
    while let Some((dir, depth)) = stack.pop() {
        if dir.join("journal.jsonl").is_file() {
            let trials = std::fs::read_dir(&dir)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with("trial-"))
                        .count()
                })
                .unwrap_or(0);
            found.push(SweepSummary {
                id: relative(root, &dir),
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                trials,
                report: dir.join("report.png").is_file(),
            });
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        {
            if depth > 0 && !entry.path().join("config.json").is_file() {
                stack.push((entry.path(), depth - 1));
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// `(epoch, split, loss, accuracy)` of each row of a run's `metrics.csv`.
pub fn metrics(dir: &Path) -> Vec<(usize, &'static str, f64, f64)> {
    RunDir::new(dir)
        .rows()
        .into_iter()
        .map(|r| {
            let split = if r.split == Split::Valid {
                "valid"
            } else {
                "train"
            };
            (r.epoch, split, r.loss, r.accuracy)
        })
        .collect()
}

/// The folder `id` names under `root`: refused (`None`) if it would leave it.
pub fn inside(root: &Path, id: &str) -> Option<PathBuf> {
    let path = Path::new(id);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(path))
}

fn relative(root: &Path, dir: &Path) -> String {
    dir.strip_prefix(root).unwrap_or(dir).display().to_string()
}
