//! Where training data comes from: a class-folder root, or the built-in
//! synthetic handwriting when there is none.

use anyhow::Result;
use burn::data::dataset::Dataset;
use dataset::Hanzi12;
use dataset::synth::{SynthConfig, SyntheticHanzi12};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Images per class of the built-in synthetic set, as in the course set.
pub const SYNTH_PER_CLASS: usize = 620;
/// Images per class a run trains on when it has only synthetic data: twice
/// the course set, for half the epochs ([`crate::Recipe::default_epochs`]).
/// The same steps see twice as many writers, and unseen real writing is
/// read better for it (docs/accuracy.md).
pub const SYNTH_TRAIN_PER_CLASS: usize = 2 * SYNTH_PER_CLASS;
/// Seed of the synthetic images of the commands that have no `--seed`.
pub const SYNTH_SEED: u64 = 1;
/// Where users put the course data.
pub const DEFAULT_DATA_DIR: &str = "data/train";

/// The data a run trained on, saved in its config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataSource {
    /// A class-folder root `<root>/<k>/<n>.bmp`, or only the first
    /// `per_class` files of each class of it.
    Folder {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        per_class: Option<usize>,
    },
    /// The built-in synthetic handwriting.
    Synthetic { per_class: usize, seed: u64 },
    /// None: the weights were imported (`trainer import`), not trained here.
    Imported { file: PathBuf },
}

impl DataSource {
    /// The real data a command is pointed at: `data` (its `--data`) if
    /// given, else `data/train` if it exists.
    pub fn real(data: Option<&Path>) -> Option<DataSource> {
        let path = match data {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_DATA_DIR).is_dir() => PathBuf::from(DEFAULT_DATA_DIR),
            None => return None,
        };
        Some(DataSource::Folder {
            path,
            per_class: None,
        })
    }

    /// The data every command uses: [`real`](Self::real) if there is any,
    /// else `synthetic_per_class` built-in synthetic images per class (said
    /// in one line on stderr, with how to use real data).
    pub fn resolve(data: Option<&Path>, seed: u64, synthetic_per_class: usize) -> DataSource {
        Self::real(data).unwrap_or_else(|| {
            eprintln!(
                "no --data given and no {DEFAULT_DATA_DIR}/: using {synthetic_per_class} built-in synthetic images per class \
                 (put the course set in {DEFAULT_DATA_DIR}/<k>/<n>.bmp or pass --data DIR to use real handwriting)"
            );
            DataSource::Synthetic {
                per_class: synthetic_per_class,
                seed,
            }
        })
    }

    /// All images of the source, in memory.
    pub fn load(&self) -> Result<Hanzi12> {
        match self {
            DataSource::Folder { path, per_class } => {
                let mut data = Hanzi12::open(path)?;
                for note in data.notes() {
                    eprintln!("note: {note}");
                }
                if let Some(n) = per_class {
                    data = data.first_per_class(*n);
                }
                Ok(data)
            }
            DataSource::Synthetic { per_class, seed } => Ok(synthetic(*per_class, *seed)),
            DataSource::Imported { file } => anyhow::bail!(
                "this run's weights were imported from {}, not trained here: there is no training data to resume with (train a new run from them with --init)",
                file.display()
            ),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            DataSource::Folder {
                path,
                per_class: None,
            } => path.display().to_string(),
            DataSource::Folder {
                path,
                per_class: Some(n),
            } => format!("{} (first {n} per class)", path.display()),
            DataSource::Synthetic { per_class, seed } => {
                format!("synthetic ({per_class} per class, seed {seed})")
            }
            DataSource::Imported { file } => format!("imported from {}", file.display()),
        }
    }
}

/// The synthetic set rendered into memory, in class order like a folder, so
/// that splits and augmentation treat it exactly as real data.
pub fn synthetic(per_class: usize, seed: u64) -> Hanzi12 {
    let synth = SyntheticHanzi12::new(SynthConfig::new(), per_class, seed);
    let items = std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = synth.len().div_ceil(workers);
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let synth = &synth;
                scope.spawn(move || {
                    (w * chunk..((w + 1) * chunk).min(synth.len()))
                        .map(|i| synth.get(i).expect("synthetic items always render"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("render thread"))
            .collect()
    });
    Hanzi12::from_items(items)
}
