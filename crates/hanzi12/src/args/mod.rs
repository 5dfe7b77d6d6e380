//! The flags of the product's subcommands, one file per subcommand, and the
//! flags they share (`shared`), each declared once. The conversion from
//! flags to a command's settings sits beside the flags (e.g.
//! `TrainArgs::settings` in `train.rs`).

mod devices;
mod eval;
mod export;
mod import;
mod predict;
mod shared;
mod sheet;
mod synth;
mod train;

pub use devices::DevicesArgs;
pub use eval::EvalArgs;
pub use export::ExportArgs;
pub use import::ImportArgs;
pub use predict::PredictArgs;
pub use shared::{
    BackendArg, CheckpointArg, ConventionArg, DataArgs, ModelArgs, NormaliseArg, TtaArg,
};
pub use sheet::SheetArgs;
pub use synth::SynthArgs;
pub use train::TrainArgs;
