//! Which Burn device runs the work, chosen at run time.

use anyhow::{Result, bail};
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
    /// A GPU through wgpu (Vulkan, Metal or DirectX, whichever the machine has).
    Wgpu,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flex" | "cpu" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::Ndarray),
            "wgpu" | "gpu" | "vulkan" => Ok(Backend::Wgpu),
            other => Err(format!(
                "unknown backend '{other}' (expected flex, ndarray or wgpu)"
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
    /// machine without a GPU is a clear error, not a panic deep in a kernel.
    pub fn device(self) -> Result<Device> {
        Ok(match self {
            Backend::Flex => Device::flex(),
            #[allow(deprecated)] // ndarray stays because users asked for it
            Backend::Ndarray => Device::ndarray(),
            Backend::Wgpu => {
                if !gpu_adapter_present() {
                    bail!(
                        "--backend wgpu: no GPU adapter found on this machine; use --backend flex (the CPU backend) instead"
                    );
                }
                Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
            }
        })
    }
}

/// Whether wgpu finds an adapter on a compute-capable API (Vulkan, Metal or
/// DirectX 12; a software Vulkan such as lavapipe counts). OpenGL adapters
/// are not enough: Burn's kernels need compute shaders, and on a machine
/// whose only adapter is a GL context the first kernel fails deep inside.
fn gpu_adapter_present() -> bool {
    let instance = wgpu::Instance::default();
    !futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY)).is_empty()
}
