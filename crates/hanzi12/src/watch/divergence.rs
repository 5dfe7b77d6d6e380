//! A run whose training loss stops being finite, and where that happened.

use std::sync::{Arc, OnceLock};

/// A training loss that stopped being finite, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    pub loss: f64,
    pub epoch: usize,
    /// The step within the epoch.
    pub step: usize,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "diverged: the training loss became {} at epoch {}, step {}",
            self.loss, self.epoch, self.step
        )
    }
}

/// Where [`EpochTable`] reports a divergence to the code that launched
/// training: Burn's interrupter carries only a text.
pub type DivergenceSlot = Arc<OnceLock<Divergence>>;
