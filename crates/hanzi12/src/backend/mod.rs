//! Which Burn device runs the work, chosen at run time; for `wgpu`, which
//! adapter, said out loud.

mod adapters;
mod environment;
mod wgpu_device;

pub use adapters::{Adapter, NO_ADAPTER, adapters, choose};
pub use environment::prepare_environment;
pub use wgpu_device::report_adapters;

use anyhow::Result;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The backends this build carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's pure-Rust CPU backend: the fastest on CPU, the default.
    #[default]
    Flex,
    /// Burn's ndarray CPU backend (slower; kept for comparison).
    Ndarray,
    /// A GPU through wgpu (Vulkan, Metal or DirectX 12, whichever the machine has).
    Wgpu,
}

impl Backend {
    /// Every backend, in the order the help lists them.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::Ndarray, Backend::Wgpu];

    /// What kind of machine the backend runs on, for the help.
    fn runs_on(self) -> &'static str {
        match self {
            Backend::Flex | Backend::Ndarray => "CPU",
            Backend::Wgpu => "GPU",
        }
    }

    /// `--backend`'s help: "flex (CPU, the default), ndarray (CPU) or wgpu (GPU)".
    pub fn help() -> String {
        let names: Vec<String> = Backend::ALL
            .iter()
            .map(|&b| match b == Backend::default() {
                true => format!("{b} ({}, the default)", b.runs_on()),
                false => format!("{b} ({})", b.runs_on()),
            })
            .collect();
        let (last, rest) = names.split_last().expect("backends");
        format!("{} or {last}", rest.join(", "))
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flex" | "cpu" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::Ndarray),
            "wgpu" | "gpu" | "vulkan" => Ok(Backend::Wgpu),
            other => Err(format!(
                "unknown backend '{other}' (expected {})",
                Backend::help()
            )),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        })
    }
}

impl Backend {
    /// The device, after checking that it can start: a GPU backend on a
    /// machine without an adapter is a clear error, not a panic deep in a
    /// kernel.
    pub fn device(self) -> Result<Device> {
        Ok(match self {
            Backend::Flex => Device::flex(),
            #[allow(deprecated)] // ndarray stays because users asked for it
            Backend::Ndarray => Device::ndarray(),
            Backend::Wgpu => wgpu_device::wgpu_device()?,
        })
    }

    /// `count` devices that train one run together (`--devices`): for
    /// `wgpu` the best `count` adapters, refused where there are fewer; for
    /// a CPU backend its one device `count` times, which Burn's
    /// multi-device strategy runs as `count` workers sharing the CPU.
    pub fn devices(self, count: usize) -> Result<Vec<Device>> {
        match (self, count) {
            (_, 0) => anyhow::bail!("--devices 0: expected at least 1"),
            (Backend::Wgpu, 1) => Ok(vec![wgpu_device::wgpu_device()?]),
            (Backend::Wgpu, _) => wgpu_device::wgpu_devices(count),
            (cpu, _) => Ok(vec![cpu.device()?; count]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cpu_backend_gives_its_device_once_per_worker() {
        let devices = Backend::Flex.devices(3).unwrap();
        assert_eq!(devices.len(), 3);
        assert!(devices.iter().all(|d| *d == Device::flex()));
        let error = Backend::Flex.devices(0).unwrap_err().to_string();
        assert_eq!(error, "--devices 0: expected at least 1");
    }
}
