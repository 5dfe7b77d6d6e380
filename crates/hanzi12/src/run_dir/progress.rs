//! How far a run folder's run got, read when training starts, and the
//! moment training takes the folder for writing.

use anyhow::Result;

use super::{RunDir, RunLock};
use crate::atomic::write_atomic;
use crate::metrics::EpochRow;
use crate::recipe::RunSettings;

/// A run folder opened for training: the epoch it continues after (0 for a
/// new run) and, when resuming, the lock taken before that was read.
#[derive(Debug)]
pub struct Progress {
    pub start_epoch: usize,
    lock: Option<RunLock>,
}

impl RunDir {
    /// Opens the folder for training. A resumed run is locked and its last
    /// complete epoch read; a new one is left untouched until
    /// [`Progress::take`], so a start refused before then leaves nothing.
    pub fn open(&self, resume: bool) -> Result<Progress> {
        if !resume {
            return Ok(Progress {
                start_epoch: 0,
                lock: None,
            });
        }
        let lock = self.lock()?;
        Ok(Progress {
            start_epoch: self.last_complete_epoch().unwrap_or(0),
            lock: Some(lock),
        })
    }
}

impl Progress {
    /// Takes `run` for writing (creating it for a new run) and writes
    /// `settings` first, which also proves the folder writable before any
    /// training. Returns the lock, held while training, and the rows of
    /// `metrics.csv` up to the start epoch.
    pub fn take(self, run: &RunDir, settings: &RunSettings) -> Result<(RunLock, Vec<EpochRow>)> {
        let lock = match self.lock {
            Some(lock) => lock,
            None => run.create()?,
        };
        write_atomic(&run.config(), settings.to_json().as_bytes())?;
        let earlier = run
            .rows()
            .into_iter()
            .filter(|r| r.epoch <= self.start_epoch)
            .collect();
        Ok((lock, earlier))
    }
}
