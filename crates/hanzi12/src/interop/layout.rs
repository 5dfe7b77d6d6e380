//! The PyTorch reference's `state_dict` of each network: the names, shapes
//! and layouts of `bench/pytorch_reference.py`'s modules, and the renaming
//! between those names and Burn's module paths.
//!
//! Burn's own adapters do the per-layer work (linear weights transposed to
//! PyTorch's `[out, in]`, BatchNorm's `gamma`/`beta` called `weight`/`bias`);
//! what is left is where each layer sits, which depends on the network.

use burn::tensor::{DType, TensorData};
use burn_store::burn_pack::Tensor as PackTensor;
use burn_store::{BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, bridge};
use models::{ModelConfig, Network};

/// The buffer PyTorch's BatchNorm keeps beside its running statistics.
pub const BATCH_COUNTER: &str = "num_batches_tracked";

/// How one network's Burn paths and the reference's keys correspond: pairs
/// of (Burn prefix, PyTorch prefix), each anchored at the start of a path.
pub struct TorchLayout {
    prefixes: Vec<(String, String)>,
}

impl TorchLayout {
    pub fn of(model: &ModelConfig) -> TorchLayout {
        let prefixes = match model {
            // nn.Sequential(Flatten, Linear, activation, [Dropout], Linear, ...):
            // the i-th linear layer is entry 1 + i * (layers per hidden block).
            ModelConfig::Mlp(c) => {
                let block = if c.dropout > 0.0 { 3 } else { 2 };
                (0..c.layers.len() - 1)
                    .map(|i| (format!("linears.{i}."), format!("{}.", 1 + i * block)))
                    .collect()
            }
            // The reference's CNNs hold fc1 and fc2 directly; ours in a shared head.
            ModelConfig::Cnn(_) | ModelConfig::CnnRes(_) => ["fc1.", "fc2."]
                .map(|fc| (format!("head.{fc}"), fc.to_string()))
                .to_vec(),
        };
        TorchLayout { prefixes }
    }

    /// Burn paths to the reference's keys.
    pub fn burn_to_torch(&self) -> KeyRemapper {
        remapper(self.prefixes.iter().map(|(burn, torch)| (burn, torch)))
    }

    /// The reference's keys to Burn paths.
    pub fn torch_to_burn(&self) -> KeyRemapper {
        remapper(self.prefixes.iter().map(|(burn, torch)| (torch, burn)))
    }

    /// The network's tensors as the reference's `state_dict` holds them, in
    /// its order: PyTorch names and layouts, and each BatchNorm's batch
    /// counter after its running variance. Nothing is read from the device
    /// until a tensor's bytes are asked for.
    pub fn tensors(&self, network: &Network) -> Vec<PackTensor> {
        let collected = network.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true);
        let (renamed, _) = self.burn_to_torch().remap(collected);
        let mut out = Vec::with_capacity(renamed.len());
        for tensor in renamed {
            let counter = tensor
                .name
                .strip_suffix("running_var")
                .map(|norm| batch_counter(format!("{norm}{BATCH_COUNTER}")));
            out.push(tensor);
            out.extend(counter);
        }
        out
    }
}

/// A BatchNorm's batch counter: a 0-d int64 in PyTorch. Burn's BatchNorm
/// does not count batches, so it is written as 0; PyTorch reads the counter
/// only for a BatchNorm built with `momentum=None`, and the reference's use
/// the default momentum 0.1, as ours do.
fn batch_counter(name: String) -> PackTensor {
    bridge::from_data(TensorData::new(vec![0i64], [0usize; 0]), name, None)
}

fn remapper<'a>(pairs: impl Iterator<Item = (&'a String, &'a String)>) -> KeyRemapper {
    let patterns: Vec<(String, String)> = pairs
        .map(|(from, to)| (format!("^{}", regex_escape(from)), to.clone()))
        .collect();
    KeyRemapper::from_patterns(patterns).expect("escaped literal prefixes are valid patterns")
}

/// A literal prefix as a pattern (our prefixes hold only word characters and dots).
fn regex_escape(literal: &str) -> String {
    literal.replace('.', r"\.")
}

/// `f32`, `i64`...: how PyTorch users name dtypes.
pub fn dtype_name(dtype: DType) -> String {
    match dtype {
        DType::Bool(_) => "bool".to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// `[32, 1, 3, 3]`.
pub fn shape_text(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// The expected tensors of `model` (a freshly initialised network's, so
/// only names, dtypes and shapes matter).
pub fn expected(model: &ModelConfig, device: &burn::prelude::Device) -> Vec<PackTensor> {
    TorchLayout::of(model).tensors(&model.init(device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::ModelOptions;

    fn names(model: &str, options: &ModelOptions) -> Vec<(String, Vec<usize>)> {
        let config = ModelConfig::from_name(model, options).unwrap();
        expected(&config, &burn::prelude::Device::flex())
            .into_iter()
            .map(|t| (t.name.clone(), t.shape.to_vec()))
            .collect()
    }

    #[test]
    fn the_mlp_is_the_references_sequential() {
        let found = names("mlp", &ModelOptions::default());
        let expected = [
            ("1.weight", vec![256, 784]),
            ("1.bias", vec![256]),
            ("3.weight", vec![12, 256]),
            ("3.bias", vec![12]),
        ];
        assert_eq!(
            found,
            expected.map(|(n, s)| (n.to_string(), s)).to_vec(),
            "linear weights in PyTorch's [out, in]"
        );
        let deeper = ModelOptions {
            hidden: Some(vec![64, 32]),
            dropout: Some(0.2),
            ..Default::default()
        };
        let keys: Vec<String> = names("mlp", &deeper).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            keys,
            [
                "1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"
            ]
        );
    }

    #[test]
    fn the_residual_cnn_has_the_references_keys_in_its_order() {
        let keys: Vec<String> = names("cnn_res", &ModelOptions::default())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let norm = |n: &str| {
            [
                "weight",
                "bias",
                "running_mean",
                "running_var",
                BATCH_COUNTER,
            ]
            .map(|p| format!("{n}.{p}"))
        };
        let mut expected = vec!["conv1.weight".to_string(), "conv1.bias".to_string()];
        expected.extend(norm("norm1"));
        expected.extend(["conv2.weight".to_string(), "conv2.bias".to_string()]);
        expected.extend(norm("norm2"));
        expected.push("shortcut.weight".to_string());
        expected.extend(norm("shortcut_norm"));
        expected.extend(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"].map(String::from));
        assert_eq!(keys, expected);
    }

    #[test]
    fn plain_cnns_have_no_batch_norm_and_share_the_head() {
        let found = names("cnn_dropout", &ModelOptions::default());
        assert!(found.iter().all(|(n, _)| !n.starts_with("norm")));
        assert!(found.contains(&("fc1.weight".to_string(), vec![128, 3136])));
        assert!(found.contains(&("conv2.weight".to_string(), vec![64, 32, 3, 3])));
    }
}
