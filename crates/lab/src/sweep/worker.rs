//! A worker: asks the journal for a trial, trains it as an ordinary run
//! folder, stops it early when the pruner says so, and reports how it
//! ended; again, until the sweep has its trials. Several workers (threads
//! of no process: processes, here or on a cluster) share one journal.
//!
//! A trial is claimed by a lock file held while it trains (the OS drops it
//! when the process ends, however it ends): a trial asked but not done
//! whose claim is free lost its worker, and the next worker resumes it.

use anyhow::{Context, Result};
use burn::train::Interrupter;
use hanzi12::metrics::{EpochRow, Split};
use hanzi12::run_dir::RunLock;
use hanzi12::train;
use hanzi12::{Execution, RunDir, RunSettings};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::journal::{Ending, Event, Header, Journal, Progress, TrialEnd};
use super::sampler::Scored;
use super::space::{Point, apply};

/// What every worker of a sweep shares.
pub struct Sweep {
    pub dir: PathBuf,
    pub header: Header,
    pub execution: Execution,
    /// Trials the sweep ends with.
    pub trials: usize,
}

/// A trial this worker trains, claimed until dropped.
struct Task {
    trial: usize,
    /// Taken over from a worker that stopped.
    resumed: bool,
    point: Point,
    _claim: RunLock,
}

/// Trains trials until the sweep has its trials, or none is left to take.
pub fn work(sweep: &Sweep, journal: &Journal, stop: &Interrupter) -> Result<()> {
    while !stop.should_stop() {
        let Some(task) = next_task(sweep, journal)? else {
            return Ok(());
        };
        train_trial(sweep, journal, task, stop)?;
        // The report after each trial, so the board shows the sweep as it goes.
        if let Err(e) = super::report::write(&sweep.dir) {
            eprintln!("the sweep goes on, but its report could not be written: {e:#}");
        }
    }
    Ok(())
}

/// The folder of trial `n`.
pub fn trial_dir(dir: &Path, trial: usize) -> PathBuf {
    dir.join(format!("trial-{trial:03}"))
}

fn claim_file(dir: &Path, trial: usize) -> PathBuf {
    dir.join("claims").join(format!("trial-{trial:03}.lock"))
}

/// The next trial to train: one whose worker died, else a new one, else
/// none (the sweep has its trials, or the rest are being trained).
fn next_task(sweep: &Sweep, journal: &Journal) -> Result<Option<Task>> {
    std::fs::create_dir_all(sweep.dir.join("claims"))?;
    let worker = format!("{}:{}", hostname(), std::process::id());
    journal.update(|events| {
        let progress = Progress::of(events);
        let (asked, done) = (&progress.asked, &progress.done);
        if done.len() >= sweep.trials {
            return Ok((vec![], None));
        }
        for (&trial, point) in asked.iter().filter(|(t, _)| !done.contains_key(t)) {
            if let Ok(claim) = RunLock::acquire(
                &claim_file(&sweep.dir, trial),
                &trial_dir(&sweep.dir, trial),
            ) {
                println!("trial {trial}: its worker stopped; going on with it");
                let event = Event::Ask {
                    trial,
                    point: point.clone(),
                    worker,
                };
                return Ok((
                    vec![event],
                    Some(Task {
                        trial,
                        resumed: true,
                        point: point.clone(),
                        _claim: claim,
                    }),
                ));
            }
        }
        if asked.len() >= sweep.trials {
            return Ok((vec![], None));
        }
        let trial = asked.len();
        let scored = scored(&progress);
        let h = &sweep.header;
        let point = h.sampler.next(&h.space, &scored, h.seed, trial)?;
        let claim = RunLock::acquire(
            &claim_file(&sweep.dir, trial),
            &trial_dir(&sweep.dir, trial),
        )?;
        let event = Event::Ask {
            trial,
            point: point.clone(),
            worker,
        };
        Ok((
            vec![event],
            Some(Task {
                trial,
                resumed: false,
                point,
                _claim: claim,
            }),
        ))
    })
}

/// The ended trials as the sampler sees them.
fn scored(progress: &Progress) -> Vec<Scored<'_>> {
    progress
        .done
        .iter()
        .filter_map(|(trial, end)| {
            Some(Scored {
                point: progress.asked.get(trial)?,
                badness: end.badness(),
            })
        })
        .collect()
}

/// Trains one trial to its end (or until pruned), and reports it.
fn train_trial(sweep: &Sweep, journal: &Journal, task: Task, stop: &Interrupter) -> Result<()> {
    let dir = trial_dir(&sweep.dir, task.trial);
    let recipe =
        apply(&sweep.header.base, &task.point).with_context(|| format!("trial {}", task.trial))?;
    let run = RunDir::new(&dir);
    let resume = run.holds_a_run();
    if task.resumed && !resume {
        println!(
            "trial {}: its folder {} is gone; training it again from the start",
            task.trial,
            dir.display()
        );
    }
    println!(
        "--- trial {} -> {}: {}",
        task.trial,
        dir.display(),
        describe(&task.point)
    );
    let settings = RunSettings {
        recipe,
        execution: sweep.execution.clone(),
    };
    let watch = Watch {
        sweep: &sweep.dir,
        trial: task.trial,
        epochs: settings.recipe.epochs,
        pruner: sweep.header.pruner,
        pruned: Mutex::new(None),
    };
    let outcome = train_watched(&settings, &run, resume, &watch, stop);
    let pruned = watch.pruned.into_inner().expect("not poisoned");
    if stop.should_stop() && pruned.is_none() {
        println!(
            "trial {}: stopped; run the sweep again to go on with it",
            task.trial
        );
        return Ok(());
    }
    let ending = match (outcome, pruned) {
        (Err(e), _) => {
            println!("trial {} failed: {e:#}", task.trial);
            Ending::Failed
        }
        (Ok(_), Some(reason)) => {
            println!("trial {} pruned: {reason}", task.trial);
            Ending::Pruned
        }
        (Ok(_), None) => Ending::Finished,
    };
    report_end(journal, task.trial, ending, &run)
}

/// Trains `settings` into `run` while `watch` looks on from a thread of its
/// own, stopping it when the pruner (or Ctrl-C) says so.
fn train_watched(
    settings: &RunSettings,
    run: &RunDir,
    resume: bool,
    watch: &Watch,
    stop: &Interrupter,
) -> Result<train::Outcome> {
    let interrupter = Interrupter::new();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| watch.run(&interrupter, stop, &done));
        let outcome = train::train(settings, run, resume, interrupter.clone());
        done.store(true, Ordering::Relaxed);
        outcome
    })
}

/// Appends how the trial ended, judged by its best epoch; a trial that
/// failed before its first epoch ends with nothing learnt.
fn report_end(journal: &Journal, trial: usize, ending: Ending, run: &RunDir) -> Result<()> {
    let best = best_row(&run.rows());
    let end = TrialEnd {
        ending,
        accuracy: best.as_ref().map_or(0.0, |b| b.accuracy),
        loss: best.as_ref().map_or(0.0, |b| b.loss),
        epoch: best.as_ref().map_or(0, |b| b.epoch),
    };
    journal.update(|_| Ok((vec![Event::Done { trial, end }], ())))
}

/// The epoch a trial is judged by: the best validation accuracy, the
/// lower loss breaking ties.
pub fn best_row(rows: &[EpochRow]) -> Option<EpochRow> {
    rows.iter()
        .filter(|r| r.split == Split::Valid && r.accuracy.is_finite())
        .max_by(|a, b| {
            a.accuracy
                .total_cmp(&b.accuracy)
                .then(b.loss.total_cmp(&a.loss))
        })
        .cloned()
}

/// The validation accuracy (%) after each epoch of the run in `dir`.
pub fn valid_curve(dir: &Path) -> Vec<f64> {
    RunDir::new(dir)
        .rows()
        .iter()
        .filter(|r| r.split == Split::Valid)
        .map(|r| r.accuracy)
        .collect()
}

/// Watches a training trial: stops it when the pruner says so, or when the
/// sweep is stopped (Ctrl-C).
struct Watch<'a> {
    sweep: &'a Path,
    trial: usize,
    /// The trial's length: after its last epoch it has finished, not trailed.
    epochs: usize,
    pruner: super::pruner::PrunerKind,
    /// Why the pruner stopped the trial, once it did.
    pruned: Mutex<Option<String>>,
}

impl Watch<'_> {
    fn run(&self, interrupter: &Interrupter, stop: &Interrupter, done: &AtomicBool) {
        let mut judged = 0;
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if stop.should_stop() {
                interrupter.stop(Some("the sweep was stopped"));
                return;
            }
            let own = valid_curve(&trial_dir(self.sweep, self.trial));
            if own.len() == judged || own.len() >= self.epochs {
                continue;
            }
            judged = own.len();
            if let Some(reason) = self.pruner.prune(&own, &self.others()) {
                *self.pruned.lock().expect("not poisoned") = Some(reason.clone());
                interrupter.stop(Some(&format!("pruned: {reason}")));
                return;
            }
        }
    }

    /// Every other trial's validation curve so far.
    fn others(&self) -> Vec<Vec<f64>> {
        let Ok(entries) = std::fs::read_dir(self.sweep) else {
            return Vec::new();
        };
        let own = trial_dir(self.sweep, self.trial);
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p != &own
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("trial-"))
            })
            .map(|p| valid_curve(&p))
            .filter(|c| !c.is_empty())
            .collect()
    }
}

/// A trial's settings in one line: `lr=0.0012 batch_size=64`.
pub fn describe(point: &Point) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={}", short(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value as people read it: numbers to 4 significant digits.
pub fn short(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            format!("{}", format!("{x:.4e}").parse::<f64>().unwrap_or(x))
        }
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into())
}
