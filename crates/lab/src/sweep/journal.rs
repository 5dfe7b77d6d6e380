//! The sweep's journal, `journal.jsonl`: one event per line, appended
//! under a file lock by every worker, on one machine or many sharing the
//! folder. It is the sweep's memory: which trials were asked with which
//! settings, and how each ended. A worker killed mid-line leaves a torn
//! last line, which is skipped.

use anyhow::{Context, Result, bail};
use hanzi12::Recipe;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::pruner::PrunerKind;
use super::sampler::SamplerKind;
use super::space::{Point, Space};

/// What makes a sweep the sweep it is: a journal of another is refused.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub space: Space,
    /// The recipe every trial starts from (the settings not searched).
    pub base: Recipe,
    pub sampler: SamplerKind,
    pub pruner: PrunerKind,
    pub seed: u64,
}

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ending {
    Finished,
    Pruned,
    /// Training stopped with an error (a diverging loss, most often): a
    /// result too, so the sampler steers away and the sweep goes on.
    Failed,
}

/// How a trial ended: its best validation accuracy (%), and that epoch's
/// loss and number.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct TrialEnd {
    pub ending: Ending,
    pub accuracy: f64,
    pub loss: f64,
    pub epoch: usize,
}

impl TrialEnd {
    /// Lower is better: minus the accuracy, the loss breaking ties; a
    /// pruned trial ranks below every finished one, a failed one below all.
    pub fn badness(&self) -> f64 {
        let penalty = match self.ending {
            Ending::Finished => 0.0,
            Ending::Pruned => 1000.0,
            Ending::Failed => 2000.0,
        };
        penalty - self.accuracy + 1e-3 * self.loss
    }
}

/// One line of the journal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    Sweep(Box<Header>),
    /// A worker takes trial `trial` (again, when its last worker died).
    Ask {
        trial: usize,
        point: Point,
        worker: String,
    },
    Done {
        trial: usize,
        #[serde(flatten)]
        end: TrialEnd,
    },
}

/// The trials asked (with the settings each was last asked with) and how
/// the ended ones ended.
pub struct Progress {
    pub asked: BTreeMap<usize, Point>,
    pub done: BTreeMap<usize, TrialEnd>,
}

impl Progress {
    pub fn of(events: &[Event]) -> Progress {
        let mut progress = Progress {
            asked: BTreeMap::new(),
            done: BTreeMap::new(),
        };
        for event in events {
            match event {
                Event::Ask { trial, point, .. } => {
                    progress.asked.insert(*trial, point.clone());
                }
                // A trial is counted once, however many workers touched it.
                Event::Done { trial, end } => {
                    progress.done.entry(*trial).or_insert(*end);
                }
                Event::Sweep(_) => {}
            }
        }
        progress
    }
}

/// The journal of the sweep in a folder.
pub struct Journal {
    path: PathBuf,
    lock: PathBuf,
}

impl Journal {
    pub fn at(dir: &Path) -> Journal {
        Journal {
            path: dir.join("journal.jsonl"),
            lock: dir.join("journal.lock"),
        }
    }

    /// The journal of `header`'s sweep in `dir`: begun if new; refused,
    /// naming what differs, if it is another sweep's.
    pub fn open(dir: &Path, header: &Header) -> Result<Journal> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let journal = Journal::at(dir);
        journal.update(|events| match events.first() {
            None => Ok((vec![Event::Sweep(Box::new(header.clone()))], ())),
            Some(Event::Sweep(saved)) => {
                same_sweep(saved, header, &journal.path)?;
                Ok((vec![], ()))
            }
            Some(_) => bail!("{}: does not begin with a sweep", journal.path.display()),
        })?;
        Ok(journal)
    }

    /// The sweep's header and events, read without the lock.
    pub fn read(&self) -> Result<(Header, Vec<Event>)> {
        let events = self.events()?;
        match events.first() {
            Some(Event::Sweep(header)) => Ok((*header.clone(), events)),
            _ => bail!(
                "{}: no sweep here (run `trainer sweep NAME` first)",
                self.path.display()
            ),
        }
    }

    /// Runs `f` on the events so far while no other worker can, and
    /// appends the events it returns.
    pub fn update<T>(&self, f: impl FnOnce(&[Event]) -> Result<(Vec<Event>, T)>) -> Result<T> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .with_context(|| format!("cannot open {}", self.lock.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", self.lock.display()))?;
        let (new, value) = f(&self.events()?)?;
        if !new.is_empty() {
            let mut text = String::new();
            for event in &new {
                text += &serde_json::to_string(event)?;
                text.push('\n');
            }
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .with_context(|| format!("cannot open {}", self.path.display()))?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", self.path.display()))?;
        }
        // Closing the file (dropping `lock`) releases the lock.
        Ok(value)
    }

    fn events(&self) -> Result<Vec<Event>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut events = Vec::with_capacity(lines.len());
        for (n, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(event) => events.push(event),
                // A worker killed while writing leaves a torn last line.
                Err(_) if n + 1 == lines.len() && !text.ends_with('\n') => {}
                Err(e) => bail!(
                    "{} line {}: not a journal event ({e})",
                    self.path.display(),
                    n + 1
                ),
            }
        }
        Ok(events)
    }
}

/// Refuses a header of another sweep than the journal's, naming the difference.
fn same_sweep(saved: &Header, wanted: &Header, path: &Path) -> Result<()> {
    let other = |what: String| {
        bail!(
            "{}: the journal of another sweep ({what}); use another NAME or --out, or the same flags",
            path.display()
        )
    };
    if saved.name != wanted.name {
        return other(format!("named {}, not {}", saved.name, wanted.name));
    }
    if saved.space != wanted.space {
        return other("it searches another space".to_string());
    }
    let changed = saved.base.differences(&wanted.base);
    if !changed.is_empty() {
        let changed: Vec<String> = changed.iter().map(ToString::to_string).collect();
        return other(format!("its recipe differs: {}", changed.join(", ")));
    }
    if (saved.sampler, saved.pruner, saved.seed) != (wanted.sampler, wanted.pruner, wanted.seed) {
        return other("another sampler, pruner or seed".to_string());
    }
    Ok(())
}
