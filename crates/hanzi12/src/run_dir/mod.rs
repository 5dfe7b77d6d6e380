//! The run folder, and the one place that knows its layout: which file
//! holds what, whether a folder holds a run, how far the run got, the
//! checkpointer Burn saves through, and the lock of the process writing it.
//!
//! ```text
//! <run>/config.json          the run's settings (RunSettings: recipe and execution)
//! <run>/metrics.csv          one row per split and epoch
//! <run>/model.bpk            the best model by validation loss
//! <run>/checkpoint/<kind>-<epoch>.bpk   Burn's checkpoints (model, optim, scheduler)
//! <run>/lock                 held by the process that writes the run
//! <run>/eval/                `eval`'s figures (confusion.png, mistakes.png)
//! ```
//!
//! Burn's own logger adds `experiment.log` and per-epoch metric folders.

mod checkpointer;
mod lock;
mod naming;
mod progress;

pub use checkpointer::AtomicCheckpointer;
pub use lock::RunLock;
pub use naming::ARTIFACTS;
pub use progress::Progress;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use models::{ModelConfig, Network};
use std::path::{Path, PathBuf};

use crate::atomic::copy_atomic;
use crate::metrics::{EpochRow, Split, best_valid, read_metrics};
use crate::recipe::RunSettings;

/// What one checkpoint file of an epoch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    Model,
    Optimizer,
    Scheduler,
}

impl CheckpointKind {
    const ALL: [CheckpointKind; 3] = [
        CheckpointKind::Model,
        CheckpointKind::Optimizer,
        CheckpointKind::Scheduler,
    ];

    /// The file name's prefix, as Burn's own file checkpointer names them.
    fn prefix(self) -> &'static str {
        match self {
            CheckpointKind::Model => "model",
            CheckpointKind::Optimizer => "optim",
            CheckpointKind::Scheduler => "scheduler",
        }
    }

    fn file_name(self, epoch: usize) -> String {
        format!("{}-{epoch}.bpk", self.prefix())
    }

    /// The epoch of a file named by [`file_name`](Self::file_name).
    fn epoch_of(self, file_name: &str) -> Option<usize> {
        file_name
            .strip_prefix(self.prefix())?
            .strip_prefix('-')?
            .strip_suffix(".bpk")?
            .parse()
            .ok()
    }
}

/// A run folder.
#[derive(Clone, Debug)]
pub struct RunDir {
    dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> RunDir {
        RunDir { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn metrics(&self) -> PathBuf {
        self.dir.join("metrics.csv")
    }

    /// The best model by validation loss: what `predict` and `eval` load.
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.bpk")
    }

    /// Where `eval` draws its figures unless told otherwise.
    pub fn eval_figures(&self) -> PathBuf {
        self.dir.join("eval")
    }

    fn checkpoints(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The checkpoint file of `kind` saved after `epoch`.
    pub fn checkpoint(&self, kind: CheckpointKind, epoch: usize) -> PathBuf {
        self.checkpoints().join(kind.file_name(epoch))
    }

    /// Burn's checkpointers of the model, the optimizer and the scheduler,
    /// saving into this folder.
    pub fn checkpointers(&self) -> [AtomicCheckpointer; 3] {
        CheckpointKind::ALL.map(|kind| AtomicCheckpointer::new(self.clone(), kind))
    }

    /// Whether the folder already holds a run that a new one would overwrite.
    pub fn holds_a_run(&self) -> bool {
        self.config().exists() || self.checkpoints().exists()
    }

    /// The rows of `metrics.csv` so far (none before the first epoch).
    pub fn rows(&self) -> Vec<EpochRow> {
        read_metrics(&self.metrics())
    }

    /// The last epoch whose model, optimizer and scheduler were all saved.
    pub fn last_complete_epoch(&self) -> Option<usize> {
        let entries = std::fs::read_dir(self.checkpoints()).ok()?;
        entries
            .filter_map(|e| CheckpointKind::Model.epoch_of(e.ok()?.file_name().to_str()?))
            .filter(|&epoch| {
                CheckpointKind::ALL
                    .iter()
                    .all(|&kind| self.checkpoint(kind, epoch).is_file())
            })
            .max()
    }

    /// Whether the run trained all `epochs` and kept its best model.
    pub fn finished(&self, epochs: usize) -> bool {
        self.model().is_file()
            && self
                .rows()
                .iter()
                .any(|r| r.split == Split::Valid && r.epoch == epochs)
    }

    /// Makes the checkpoint of the epoch with the lowest validation loss
    /// the run's model, and returns that epoch's row (none before an epoch
    /// finished).
    pub fn keep_best(&self) -> Result<Option<EpochRow>> {
        let Some(best) = best_valid(&self.rows()).cloned() else {
            return Ok(None);
        };
        copy_atomic(
            &self.checkpoint(CheckpointKind::Model, best.epoch),
            &self.model(),
        )?;
        Ok(Some(best))
    }

    /// Takes the folder for writing a new run, creating it: refused while
    /// another process writes it, and when it already holds a run.
    pub fn create(&self) -> Result<RunLock> {
        std::fs::create_dir_all(self.checkpoints())
            .with_context(|| format!("cannot create the run folder {}", self.dir.display()))?;
        let lock = self.lock()?;
        // Checked again under the lock: a run that started into this
        // folder since the caller looked has written its config by now.
        if self.config().exists() {
            bail!(
                "{}: already holds a run (use --resume to continue it, or another folder)",
                self.dir.display()
            );
        }
        Ok(lock)
    }

    /// Takes the folder for writing: refused, naming the other process,
    /// while another process writes it.
    pub fn lock(&self) -> Result<RunLock> {
        RunLock::acquire(&self.lock_file(), &self.dir)
    }

    /// The run's settings, from `config.json` of any format.
    pub fn settings(&self) -> Result<RunSettings> {
        RunSettings::read(&self.config())
    }

    /// `network` (built from `model`) with this run's best weights loaded;
    /// weights saved for another network are an error naming the file.
    pub fn load_weights(&self, network: Network, model: &ModelConfig) -> Result<Network> {
        let weights = self.model();
        network.try_load_file(&weights).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot load the weights of a {} model: {e}",
                weights.display(),
                model.name()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_names_parse_back_to_their_epoch() {
        for kind in CheckpointKind::ALL {
            assert_eq!(kind.epoch_of(&kind.file_name(12)), Some(12));
        }
        assert_eq!(CheckpointKind::Model.epoch_of("model-3.bpk.tmp7"), None);
        assert_eq!(CheckpointKind::Model.epoch_of("optim-3.bpk"), None);
    }

    #[test]
    fn the_last_complete_epoch_has_all_three_files() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        assert!(!run.holds_a_run());
        assert_eq!(run.last_complete_epoch(), None);
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        assert!(run.holds_a_run());
        for epoch in [1, 2] {
            for kind in CheckpointKind::ALL {
                std::fs::write(run.checkpoint(kind, epoch), b"").unwrap();
            }
        }
        // Epoch 3's scheduler was never written: a kill during the save.
        std::fs::write(run.checkpoint(CheckpointKind::Model, 3), b"").unwrap();
        std::fs::write(run.checkpoint(CheckpointKind::Optimizer, 3), b"").unwrap();
        assert_eq!(run.last_complete_epoch(), Some(2));
        assert!(!run.finished(2));
    }

    #[test]
    fn a_second_lock_on_one_folder_names_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path().join("run"));
        let held = run.create().unwrap();
        // Another open file description of the same lock file conflicts,
        // as a second process's would.
        let error = run.lock().err().unwrap().to_string();
        assert!(
            error.contains(&format!("pid {}", std::process::id())),
            "{error}"
        );
        drop(held);
        run.lock().unwrap();
    }
}
