//! `trainer export`: a run's best weights as a `.safetensors` file that
//! PyTorch loads into `bench/pytorch_reference.py`'s module as it is.

use anyhow::{Context, Result, bail};
use burn_store::burn_pack::Tensor as PackTensor;
use std::collections::HashMap;
use std::path::Path;

use super::layout::{TorchLayout, dtype_name};
use super::metadata;
use crate::atomic::write_atomic;
use crate::infer::Trained;

/// Refuses an `--out` that is not a `.safetensors` file name.
pub fn check_out(out: &Path) -> Result<()> {
    if out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        bail!(
            "--out {}: expected a file name ending in .safetensors",
            out.display()
        );
    }
    Ok(())
}

/// Writes the weights of `trained` (the run in `run_dir`) to `out`;
/// returns how many tensors were written.
pub fn export(trained: &Trained, run_dir: &Path, out: &Path) -> Result<usize> {
    check_out(out)?;
    let tensors = TorchLayout::of(&trained.recipe.model).tensors(&trained.network);
    let count = tensors.len();
    let bytes = serialize(tensors, metadata::describe(&trained.recipe, run_dir))?;
    write_atomic(out, &bytes)?;
    Ok(count)
}

/// One tensor read back from the device, as safetensors wants it.
struct Resident {
    dtype: safetensors::Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for &Resident {
    fn dtype(&self) -> safetensors::Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The safetensors container of `tensors` (the networks are a few MB, so
/// it is built in memory and written in one atomic step).
fn serialize(tensors: Vec<PackTensor>, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let mut resident = Vec::with_capacity(tensors.len());
    for tensor in tensors {
        let dtype = match tensor.dtype {
            burn::tensor::DType::F32 => safetensors::Dtype::F32,
            burn::tensor::DType::I64 => safetensors::Dtype::I64,
            other => bail!(
                "tensor '{}' is {}: only f32 weights and i64 counters are exported",
                tensor.name,
                dtype_name(other)
            ),
        };
        let name = tensor.name.clone();
        let shape = tensor.shape.to_vec();
        let bytes = tensor
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("cannot read tensor '{name}' back: {e}"))?
            .to_vec();
        resident.push((
            name,
            Resident {
                dtype,
                shape,
                bytes,
            },
        ));
    }
    let views = resident.iter().map(|(name, r)| (name.as_str(), r));
    safetensors::serialize(views, Some(metadata)).context("cannot encode the safetensors file")
}
