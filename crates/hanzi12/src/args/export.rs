//! `trainer export`.

use clap::Args;
use std::path::PathBuf;

use super::CheckpointArg;

/// Write a run's best weights as .safetensors under the PyTorch reference's state_dict names,
/// or (--web) the run as a static web site that reads handwriting in the browser.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub checkpoint: CheckpointArg,
    /// The .safetensors file to write (replaced if it exists); with --web, the site's
    /// folder (new, empty, or an earlier site, which is replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Write a static site instead: the page of `trainer serve`, reading in the browser
    /// (WebAssembly), with the run's weights. Serve it with any static file server.
    #[arg(long, conflicts_with_all = ["images", "logits"])]
    pub web: bool,
    /// With --web: take the WebAssembly reader from this folder (hanzi12_web.js and
    /// hanzi12_web_bg.wasm) instead of building it from this checkout.
    #[arg(long, value_name = "DIR", requires = "web")]
    pub wasm: Option<PathBuf>,
    /// Also write the network's logits of these images (files or folders) to --logits,
    /// to check another framework's output against ours.
    #[arg(long, num_args = 1.., requires = "logits")]
    pub images: Vec<PathBuf>,
    /// CSV for the logits of --images: path,logit_1,...,logit_12 (f32 values, exact).
    #[arg(long, requires = "images")]
    pub logits: Option<PathBuf>,
}
