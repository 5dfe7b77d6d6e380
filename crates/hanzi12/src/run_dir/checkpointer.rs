//! Burn's file checkpointer, but writing each checkpoint to a temporary
//! name and renaming it into place, so a kill during a save leaves the
//! previous checkpoints intact.

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

use super::{CheckpointKind, RunDir};
use crate::atomic::temp_path;

/// Saves one kind of checkpoint (model, optimizer or scheduler) of a run.
pub struct AtomicCheckpointer {
    run: RunDir,
    kind: CheckpointKind,
}

impl AtomicCheckpointer {
    pub(super) fn new(run: RunDir, kind: CheckpointKind) -> Self {
        AtomicCheckpointer { run, kind }
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.run.checkpoint(self.kind, epoch);
        let temp = temp_path(&path);
        record.save(temp.clone())?;
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(CheckpointerError::IOError)?;
        std::fs::rename(&temp, &path).map_err(CheckpointerError::IOError)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.run.checkpoint(self.kind, epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.run.checkpoint(self.kind, epoch))
    }
}
