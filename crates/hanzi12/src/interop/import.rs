//! `trainer import`: a `.safetensors` file or a PyTorch `.pt`/`.pth`
//! `state_dict` of one of the six networks becomes a run folder that
//! `predict`, `eval` and `--init` use like a trained one.

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::DType;
use burn_store::burn_pack::Tensor as PackTensor;
use burn_store::{ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore};
use dataset::{NormaliseConfig, PixelConvention};
use models::{ModelConfig, Network};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout::{BATCH_COUNTER, TorchLayout, dtype_name, expected, shape_text};
use super::metadata;
use crate::data::DataSource;
use crate::recipe::{Execution, Recipe, RunSettings};
use crate::run_dir::RunDir;

/// The file formats `import` reads, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Safetensors,
    Pytorch,
}

impl Format {
    fn of(file: &Path) -> Result<Format> {
        match file.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Ok(Format::Safetensors),
            Some("pt" | "pth") => Ok(Format::Pytorch),
            _ => bail!(
                "{}: expected a .safetensors file or a PyTorch state_dict saved as .pt or .pth",
                file.display()
            ),
        }
    }
}

/// The tensors of `file` by name, and its metadata (safetensors only).
struct Contents {
    tensors: BTreeMap<String, PackTensor>,
    metadata: BTreeMap<String, String>,
}

fn read(file: &Path) -> Result<Contents> {
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    match Format::of(file)? {
        Format::Safetensors => {
            let mut store = SafetensorsStore::from_file(file);
            let tensors = store.get_all_tensors().map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a complete safetensors file ({})",
                    file.display(),
                    one_line(&e)
                )
            })?;
            Ok(Contents {
                tensors: tensors.clone(),
                metadata: safetensors_metadata(file)?,
            })
        }
        Format::Pytorch => read_pytorch(file),
    }
}

#[cfg(feature = "pytorch")]
fn read_pytorch(file: &Path) -> Result<Contents> {
    let mut store = burn_store::PytorchStore::from_file(file).map_indices_contiguous(false);
    let tensors = store.get_all_tensors().map_err(|e| {
        anyhow::anyhow!(
            "{}: not a readable PyTorch state_dict ({})",
            file.display(),
            one_line(&e)
        )
    })?;
    Ok(Contents {
        tensors: tensors.clone(),
        metadata: BTreeMap::new(),
    })
}

#[cfg(not(feature = "pytorch"))]
fn read_pytorch(file: &Path) -> Result<Contents> {
    bail!(
        "{}: this build reads .safetensors only (build the trainer with --features pytorch for .pt/.pth)",
        file.display()
    )
}

/// An error of a reader, on one line.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

/// The free-form metadata of a safetensors header.
fn safetensors_metadata(file: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a safetensors file ({e})", file.display()))?;
    Ok(header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// Refuses `found` unless it holds exactly the tensors of `model`, naming
/// the first one that does not fit (in the reference's `state_dict` order)
/// and what was expected. BatchNorm batch counters may be absent.
fn check(
    file: &Path,
    model: &ModelConfig,
    expected: &[PackTensor],
    found: &BTreeMap<String, PackTensor>,
) -> Result<()> {
    let (file, name) = (file.display(), model.name());
    for want in expected {
        let wanted = format!("{} {}", dtype_name(want.dtype), shape_text(&want.shape));
        let Some(got) = found.get(&want.name) else {
            if want.name.ends_with(BATCH_COUNTER) {
                continue;
            }
            bail!(
                "{file}: no tensor '{}' (a {name} needs {wanted} there)",
                want.name
            );
        };
        if got.dtype != want.dtype {
            let hint = if want.dtype == DType::F32 {
                " (in PyTorch: model.float() before saving)"
            } else {
                ""
            };
            bail!(
                "{file}: tensor '{}' is {}, expected {wanted}{hint}",
                want.name,
                dtype_name(got.dtype)
            );
        }
        if got.shape != want.shape {
            bail!(
                "{file}: tensor '{}' has shape {}, expected {} for a {name}",
                want.name,
                shape_text(&got.shape),
                shape_text(&want.shape)
            );
        }
    }
    if let Some(extra) = found
        .keys()
        .find(|k| !expected.iter().any(|want| &want.name == *k))
    {
        bail!(
            "{file}: tensor '{extra}' is not part of a {name} ({})",
            model.describe()
        );
    }
    Ok(())
}

/// The run an import writes, before anything is written.
pub struct Imported {
    pub settings: RunSettings,
    pub network: Network,
    pub tensors: usize,
}

/// Reads `file` as the weights of `model` and builds the run it becomes.
/// How the network sees pixels (`convention`: else the file's metadata,
/// else ink) and how images are normalised (`normalise`: else the file's
/// metadata, else none, as a PyTorch course model was trained) are given,
/// or read from the file.
pub fn load(
    file: &Path,
    model: ModelConfig,
    convention: Option<PixelConvention>,
    normalise: Option<Option<NormaliseConfig>>,
) -> Result<Imported> {
    let contents = read(file)?;
    let device = burn::prelude::Device::flex();
    let expected = expected(&model, &device);
    check(file, &model, &expected, &contents.tensors)?;

    let weights: Vec<PackTensor> = contents
        .tensors
        .values()
        .filter(|t| !t.name.ends_with(BATCH_COUNTER))
        .cloned()
        .collect();
    let (weights, _) = TorchLayout::of(&model).torch_to_burn().remap(weights);
    let mut network = model.init(&device);
    let result = network.apply(weights, None, Some(Box::new(PyTorchToBurnAdapter)), true);
    if !result.errors.is_empty() || !result.missing.is_empty() {
        bail!(
            "{}: cannot load into a {}: {}",
            file.display(),
            model.name(),
            result.to_string().replace('\n', " ")
        );
    }

    let convention = match (convention, contents.metadata.get(metadata::CONVENTION)) {
        (Some(given), _) => given,
        (None, Some(said)) => metadata::parse_convention(said).map_err(|e| {
            anyhow::anyhow!("{}: metadata {}: {e}", file.display(), metadata::CONVENTION)
        })?,
        (None, None) => PixelConvention::Ink,
    };
    let normalise = match (normalise, contents.metadata.get(metadata::NORMALISE)) {
        (Some(given), _) => given,
        (None, Some(said)) => metadata::parse_normalise(said).map_err(|e| {
            anyhow::anyhow!("{}: metadata {}: {e}", file.display(), metadata::NORMALISE)
        })?,
        (None, None) => None,
    };
    let data = DataSource::Imported {
        file: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
    };
    let recipe = Recipe {
        convention,
        normalise,
        ..Recipe::new(model, data)
    };
    let settings = RunSettings {
        recipe,
        execution: Execution::default(),
    };
    Ok(Imported {
        settings,
        network,
        tensors: expected.len(),
    })
}

/// Writes the run into `out`, whole or not at all: it is built in a
/// sibling folder and renamed into place. `out` must not exist, or be an
/// empty folder.
pub fn write_run(imported: &Imported, out: &Path) -> Result<()> {
    let occupied = std::fs::read_dir(out).map_or(out.exists(), |mut d| d.next().is_some());
    if occupied {
        bail!(
            "--out {}: already exists (give a new folder for the imported run)",
            out.display()
        );
    }
    let staging = staging_path(out);
    let result = (|| -> Result<()> {
        std::fs::create_dir_all(&staging)
            .with_context(|| format!("cannot create {}", staging.display()))?;
        let run = RunDir::new(staging.clone());
        crate::atomic::write_atomic(&run.config(), imported.settings.to_json().as_bytes())?;
        imported
            .network
            .clone()
            .save_file(run.model())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", run.model().display()))?;
        std::fs::rename(&staging, out)
            .with_context(|| format!("cannot move the run into {}", out.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// `<out>.import<pid>` beside `out`.
fn staging_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".import{}", std::process::id()));
    out.with_file_name(name)
}
