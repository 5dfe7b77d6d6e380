//! `manifest.json`: what an exported site's reader needs to know of the run
//! beside its weights, and what the page shows about it.

use dataset::{NormaliseConfig, PixelConvention};
use models::ModelConfig;
use serde::{Deserialize, Serialize};

/// The manifest format this reader reads; a site exported by another
/// version is refused with both numbers.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// The network that loads the weights.
    pub network: ModelConfig,
    /// How its input's pixels are given (ink = 1, or the files' own).
    pub convention: PixelConvention,
    /// How its input's ink is normalised (`None`: the course's raw boxes).
    pub normalise: Option<NormaliseConfig>,
    /// What the page shows about the run: the fields of `trainer serve`'s
    /// `/api/model`, as they were when the site was exported.
    pub model: serde_json::Value,
}

impl Manifest {
    /// Reads a manifest, refusing another format version.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| format!("manifest.json: {e}"))?;
        if manifest.version != MANIFEST_VERSION {
            return Err(format!(
                "manifest.json is format version {}, this reader reads version {MANIFEST_VERSION}: export the site again",
                manifest.version
            ));
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_of_another_version_is_refused_naming_both() {
        let text = r#"{"version": 9, "network": {"network": "cnn_res"}, "convention": "ink", "normalise": null, "model": {}}"#;
        let error = Manifest::parse(text).err().unwrap();
        assert!(
            error.contains("version 9") && error.contains("version 1"),
            "{error}"
        );
        let ok = text.replace("9", &MANIFEST_VERSION.to_string());
        assert_eq!(Manifest::parse(&ok).unwrap().network.name(), "cnn_res");
        assert!(
            Manifest::parse("{")
                .unwrap_err()
                .starts_with("manifest.json: ")
        );
    }
}
