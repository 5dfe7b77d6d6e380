//! Where and how a run executes: settings that may change between two
//! sessions of one run without changing what it learns.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;

/// Where and how a run trains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    pub backend: Backend,
    /// Devices of `backend` that train together, each on an equal share of
    /// every step's batch (Burn's multi-device strategy); the run's steps,
    /// and so its schedule, stay what the recipe makes them.
    pub devices: usize,
    /// Data-loading threads. One keeps the batch order, and so the run,
    /// reproducible; loading is a small fraction of a step (see `bench`).
    pub workers: usize,
    /// Keep every epoch's checkpoint instead of the last two and the best.
    #[serde(default)]
    pub keep_every_epoch: bool,
}

impl Default for Execution {
    fn default() -> Execution {
        Execution {
            backend: Backend::Flex,
            devices: 1,
            workers: 1,
            keep_every_epoch: false,
        }
    }
}

impl Execution {
    /// Refuses an execution that cannot run a recipe of `batch_size`,
    /// naming the flag.
    pub fn check(&self, batch_size: usize) -> Result<()> {
        if self.devices == 0 {
            bail!("--devices 0: expected at least 1");
        }
        if !batch_size.is_multiple_of(self.devices) {
            bail!(
                "--devices {}: --batch-size {batch_size} does not split evenly across {} devices (expected a multiple of {}: each device trains on an equal share of every step's batch)",
                self.devices,
                self.devices,
                self.devices
            );
        }
        if self.workers == 0 {
            bail!("--workers 0: expected at least 1");
        }
        Ok(())
    }
}
