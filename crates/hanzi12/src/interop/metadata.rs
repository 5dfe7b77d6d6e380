//! What an exported file says about itself, in the safetensors header's
//! free-form metadata: the network, its input, and its classes.

use dataset::{CHARACTERS, NormaliseConfig, PixelConvention};
use std::collections::HashMap;
use std::path::Path;

use crate::recipe::Recipe;

/// The pixel convention the network was trained with (`ink` or `raw`).
pub const CONVENTION: &str = "hanzi12.convention";
/// How images were normalised before the network saw them: the run's
/// `NormaliseConfig` as JSON, `null` for the raw 28x28 boxes.
pub const NORMALISE: &str = "hanzi12.normalise";

/// The metadata of an export of the run in `run_dir`.
pub fn describe(recipe: &Recipe, run_dir: &Path) -> HashMap<String, String> {
    let convention = convention_name(recipe.convention);
    let input = match recipe.convention {
        PixelConvention::Ink => "float32 [N, 1, 28, 28]: ink 1.0, paper 0.0",
        PixelConvention::Raw => "float32 [N, 1, 28, 28]: paper 1.0, ink 0.0 (as in the files)",
    };
    [
        // Hugging Face's tools read this key: the tensors are in PyTorch's layouts.
        ("format", "pt".to_string()),
        (
            "producer",
            "hanzi12 trainer export (Burn 0.22.1)".to_string(),
        ),
        ("hanzi12.network", recipe.model.name().to_string()),
        (
            "hanzi12.model",
            serde_json::to_string(&recipe.model).unwrap_or_default(),
        ),
        ("hanzi12.layers", recipe.model.describe()),
        (CONVENTION, convention.to_string()),
        (
            NORMALISE,
            serde_json::to_string(&recipe.normalise).unwrap_or_default(),
        ),
        ("hanzi12.input", input.to_string()),
        ("hanzi12.classes", CHARACTERS.iter().collect()),
        (
            "hanzi12.reference",
            "bench/pytorch_reference.py: MODELS[hanzi12.network]; logit k is folder k + 1"
                .to_string(),
        ),
        ("hanzi12.source", run_dir.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn convention_name(convention: PixelConvention) -> &'static str {
    match convention {
        PixelConvention::Ink => "ink",
        PixelConvention::Raw => "raw",
    }
}

/// The normalisation named in a file's metadata.
pub fn parse_normalise(text: &str) -> Result<Option<NormaliseConfig>, String> {
    let normalise: Option<NormaliseConfig> = serde_json::from_str(text)
        .map_err(|e| format!("'{text}' is not a normalisation (expected null or its JSON): {e}"))?;
    if let Some(config) = &normalise {
        config.check()?;
    }
    Ok(normalise)
}

/// `none`, or the centring and the ink's side, as the import reports it.
pub fn normalise_name(normalise: Option<&NormaliseConfig>) -> String {
    match normalise {
        None => "none (raw 28x28 boxes)".to_string(),
        Some(n) => format!("{:?} centred, ink side {} px", n.centre, n.ink_side).to_lowercase(),
    }
}

/// `ink` or `raw`, as `--convention` and the metadata spell them.
pub fn parse_convention(text: &str) -> Result<PixelConvention, String> {
    match text {
        "ink" => Ok(PixelConvention::Ink),
        "raw" => Ok(PixelConvention::Raw),
        other => Err(format!(
            "unknown convention '{other}' (expected ink or raw)"
        )),
    }
}
