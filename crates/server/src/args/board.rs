//! `trainer board`.

use clap::Args;
use std::path::PathBuf;

/// Every run and sweep under an artifacts folder in the browser: recipes, status, best epochs, learning curves overlaid and filtered by setting, sweeps' reports; refreshed while runs train.
#[derive(Args, Debug)]
pub struct BoardArgs {
    /// The folder whose runs (at any depth: studies' and sweeps' too) are shown.
    #[arg(long, default_value = "artifacts")]
    pub artifacts: PathBuf,
    /// Address to listen on: loopback unless you say otherwise.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: String,
}
