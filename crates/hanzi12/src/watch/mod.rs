//! What the user sees during training, and `metrics.csv`.
//!
//! Burn's TUI dashboard is used when stdout is a terminal. Elsewhere (CI,
//! pipes) Burn's own text renderer prints a line per batch, which buries the
//! figures, so a quiet renderer replaces it and [`EpochTable`] prints one line
//! per epoch instead. `EpochTable` also keeps `metrics.csv` in every case,
//! and stops a run whose loss stops being finite.

mod divergence;
mod epoch_table;
mod quiet;

pub use divergence::{Divergence, DivergenceSlot};
pub use epoch_table::EpochTable;
pub use quiet::QuietRenderer;
