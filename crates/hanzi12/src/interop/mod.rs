//! Weights in and out with PyTorch: `trainer export` writes a run's best
//! weights as `.safetensors` under the PyTorch reference's `state_dict`
//! names (`bench/pytorch_reference.py`), `trainer import` makes a run
//! folder from such a file or from a PyTorch `.pt`/`.pth` `state_dict`.
//! Burn's `burn-store` reads the files and adapts the layers.

mod export;
mod import;
mod layout;
mod metadata;
mod probe;

pub use export::{check_out, export};
pub use import::{load, write_run};
pub use metadata::{convention_name, normalise_name};
pub use probe::write_logits;
