//! The course layout `<root>/<k>/<n>.bmp` as a Burn dataset.

use burn::data::dataset::{Dataset, DatasetError};
use std::path::{Path, PathBuf};

use crate::decode::decode_image;
use crate::{CHARACTERS, DataError, Hanzi12Item, NUM_CLASSES};

/// The report's split on the full course set: n = 1..520 train, 521..620
/// validation, i.e. the last 100 of every 620.
pub const DEFAULT_VALID_RATIO: f64 = 100.0 / 620.0;

/// File extensions read as images; other files in a class folder are skipped
/// and reported.
const IMAGE_EXTENSIONS: [&str; 2] = ["bmp", "png"];

/// Whether `path` names an image this crate reads (by its extension).
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Labelled character images held in memory (the course set is 8 MB as f32).
///
/// Items are ordered by class, then by file index within the class, so that a
/// split by index is a split by position.
#[derive(Clone, Debug, Default)]
pub struct Hanzi12 {
    items: Vec<Hanzi12Item>,
    notes: Vec<String>,
}

impl Hanzi12 {
    /// Reads every image under a class-folder root: folders `1`..`12` (folder
    /// `k` is `CHARACTERS[k-1]`, numerically, not in text order).
    pub fn open(root: impl AsRef<Path>) -> Result<Self, DataError> {
        let root = root.as_ref();
        let class_dirs = class_folders(root)?;
        let mut data = Hanzi12::default();
        let mut skipped = Vec::new();
        let mut resized = 0usize;
        for (label, dir) in class_dirs {
            let files = image_files(&dir, &mut skipped)?;
            if files.is_empty() {
                return Err(DataError::EmptyClass(dir));
            }
            for path in files {
                let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
                let decoded = decode_image(&bytes).map_err(|reason| DataError::Decode {
                    path: path.clone(),
                    reason,
                })?;
                resized += decoded.resized as usize;
                data.items.push(Hanzi12Item {
                    image: decoded.image,
                    label,
                    character: CHARACTERS[label],
                    source: path.display().to_string(),
                });
            }
        }
        if resized > 0 {
            data.notes.push(format!(
                "{resized} images under {} are not 28x28 and were resized to 28x28",
                root.display()
            ));
        }
        if let Some(first) = skipped.first() {
            data.notes.push(format!(
                "skipped {} files that are not .bmp or .png under {} (e.g. {})",
                skipped.len(),
                root.display(),
                first.display()
            ));
        }
        Ok(data)
    }

    /// A dataset of the given items, in the given order.
    pub fn from_items(items: Vec<Hanzi12Item>) -> Self {
        Hanzi12 {
            items,
            notes: Vec::new(),
        }
    }

    /// Things worth telling the user once: resized images, skipped files.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// All items, in order.
    pub fn items(&self) -> &[Hanzi12Item] {
        &self.items
    }

    /// Number of items of each class.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for item in &self.items {
            counts[item.label] += 1;
        }
        counts
    }

    /// The first `n` items (lowest file numbers) of each class: a smaller
    /// copy of the set that splits and trains like the whole.
    pub fn first_per_class(&self, n: usize) -> Hanzi12 {
        let mut seen = [0usize; NUM_CLASSES];
        let items = self
            .items
            .iter()
            .filter(|item| {
                seen[item.label] += 1;
                seen[item.label] <= n
            })
            .cloned()
            .collect();
        Hanzi12 {
            items,
            notes: self.notes.clone(),
        }
    }

    /// Deterministic split per class by file index: the last
    /// `round(n_class * valid_ratio)` files of each class are validation.
    /// With the default ratio, the full course set (620 per class) splits
    /// exactly as the report did: 1..520 train, 521..620 valid.
    pub fn split(&self, valid_ratio: f64) -> (Hanzi12, Hanzi12) {
        let mut train = Hanzi12::default();
        let mut valid = Hanzi12::default();
        let counts = self.class_counts();
        let mut seen = [0usize; NUM_CLASSES];
        // Within a class, items are in file-index order, so the last ones of
        // each class are its highest file numbers.
        for item in &self.items {
            let class = item.label;
            let n_valid = (counts[class] as f64 * valid_ratio).round() as usize;
            let target = if seen[class] + n_valid >= counts[class] {
                &mut valid
            } else {
                &mut train
            };
            seen[class] += 1;
            target.items.push(item.clone());
        }
        (train, valid)
    }
}

impl Dataset<Hanzi12Item> for Hanzi12 {
    fn get(&self, index: usize) -> Result<Hanzi12Item, DatasetError> {
        Ok(self.items[index].clone())
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// The class folders of a root, by class index. Stray files in the root are
/// ignored; a sub-folder whose name is not a class number is an error, since
/// it most likely means the wrong folder was given.
fn class_folders(root: &Path) -> Result<Vec<(usize, PathBuf)>, DataError> {
    if !root.exists() {
        return Err(DataError::MissingRoot(root.to_path_buf()));
    }
    if !root.is_dir() {
        return Err(DataError::NotAFolder(root.to_path_buf()));
    }
    let mut classes = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| DataError::io(root, e))? {
        let path = entry.map_err(|e| DataError::io(root, e))?.path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        match name.parse::<usize>() {
            Ok(k) if (1..=NUM_CLASSES).contains(&k) => classes.push((k - 1, path)),
            _ => return Err(DataError::NotAClass(path)),
        }
    }
    if classes.is_empty() {
        return Err(DataError::NoClassFolders(root.to_path_buf()));
    }
    classes.sort();
    Ok(classes)
}

/// The image files of a class folder, sorted by their number `n` (files
/// whose name is not a number come after, in text order). Other files go to
/// `skipped`.
fn image_files(dir: &Path, skipped: &mut Vec<PathBuf>) -> Result<Vec<PathBuf>, DataError> {
    let mut named = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if hidden {
            continue;
        }
        if !path.is_file() || !is_image {
            skipped.push(path);
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        named.push((stem.parse::<u64>().unwrap_or(u64::MAX), path));
    }
    named.sort();
    Ok(named.into_iter().map(|(_, path)| path).collect())
}
