//! `trainer import`.

use clap::Args;
use std::path::PathBuf;

use super::{ConventionArg, ModelArgs, NormaliseArg};

/// Make a run folder from a .safetensors or PyTorch .pt/.pth state_dict of one of the six networks.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A .safetensors file, or a PyTorch state_dict saved with torch.save as .pt or .pth.
    pub file: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Pixels the network expects: ink (ink = 1) or raw (white = 1) [default: the file's metadata, else ink].
    #[arg(long)]
    pub convention: Option<ConventionArg>,
    /// How the network's images were normalised: mass, box or none [default: the file's metadata, else none: raw 28x28 boxes, as bench/pytorch_reference.py trains].
    #[arg(long)]
    pub normalise: Option<NormaliseArg>,
    /// The run folder to create (must not exist yet).
    #[arg(long)]
    pub out: PathBuf,
}
