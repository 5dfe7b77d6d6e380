//! Image files as network inputs: finding them, reading them, and items
//! without a label.

use anyhow::{Context, Result, bail};
use dataset::{CHARACTERS, Hanzi12Item, NormaliseConfig, SIDE, is_image_path, network_input};
use std::path::{Path, PathBuf};

/// The image files named by `paths`: files as given, folders searched
/// recursively for .bmp and .png, in numeric-then-text order.
pub fn image_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_images(path, &mut found)?;
            if found.is_empty() {
                bail!("{}: no .bmp or .png images in this folder", path.display());
            }
            out.extend(found);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    Ok(out)
}

fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let key = |p: &PathBuf| {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        (stem.parse::<u64>().unwrap_or(u64::MAX), p.clone())
    };
    entries.sort_by_key(key);
    for path in entries {
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if is_image_path(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads images to unlabelled items, each turned into the input of the run's
/// network as the server does it ([`dataset::network_input`]), and says how
/// many were not 28x28 and so were cropped, scaled and centred.
pub fn read_items(paths: &[PathBuf], run: Option<&NormaliseConfig>) -> Result<Vec<Hanzi12Item>> {
    let mut normalised = 0;
    let items = paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let input = network_input(&bytes, run).map_err(|reason| {
                anyhow::anyhow!(
                    "cannot decode image {}: {reason} (expected a BMP or PNG)",
                    path.display()
                )
            })?;
            normalised += usize::from((input.width, input.height) != (SIDE, SIDE));
            Ok(unlabelled(input.image, path.display().to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    if normalised > 0 {
        println!(
            "note: {normalised} image(s) not 28x28: cropped to the ink, scaled to the course size and centred"
        );
    }
    Ok(items)
}

/// A 28x28 network input as an item with no label.
pub fn unlabelled(image: Vec<f32>, source: String) -> Hanzi12Item {
    Hanzi12Item {
        image,
        label: 0,
        character: CHARACTERS[0],
        source,
    }
}
