//! `trainer devices`.

use clap::Args;

/// List the GPU adapters wgpu finds and the one `--backend wgpu` uses (an error where none).
#[derive(Args, Debug)]
pub struct DevicesArgs {}
