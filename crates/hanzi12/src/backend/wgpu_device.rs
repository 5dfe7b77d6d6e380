//! Starting the wgpu device on the chosen adapter, once per process, and
//! `trainer devices`.

use anyhow::Result;
use burn::prelude::*;
use std::sync::OnceLock;

use super::adapters::{Adapter, NO_ADAPTER, adapters, choose, selector};

/// The wgpu device, started once per process (a runtime cannot be started
/// twice), saying which adapter it runs on.
pub(super) fn wgpu_device() -> Result<Device> {
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(start_wgpu)
        .clone()
        .map_err(anyhow::Error::msg)
}

fn start_wgpu() -> Result<Device, String> {
    // Before any tensor exists: see `kernels::read_gpu_tensors_eagerly`.
    kernels::read_gpu_tensors_eagerly();
    let all = adapters();
    let chosen = choose(&all).ok_or(NO_ADAPTER)?;
    let (api, kind) = selector(chosen, &all);
    let (device, setup) = Device::wgpu_options()
        .graphics_api(api)
        .device_kind(kind)
        .init_with_setup()
        .map_err(|e| {
            format!(
                "--backend wgpu: cannot start {}: {e}; use --backend flex (the CPU backend) instead",
                chosen.describe()
            )
        })?;
    // What the runtime really got, which is what the user needs to know.
    let used = Adapter::from(setup.adapter.get_info());
    eprintln!("wgpu adapter: {}", used.describe());
    if used.is_software() {
        eprintln!(
            "warning: {} is a software adapter: Burn's kernels run on the CPU through a shader compiler, far slower than --backend flex (the first steps also compile every kernel)",
            used.name
        );
    }
    Ok(device)
}

/// `trainer devices`: the adapters found and the one `--backend wgpu` uses;
/// an error (the one `--backend wgpu` gives) where there is none.
pub fn report_adapters() -> Result<()> {
    let all = adapters();
    let chosen = choose(&all).ok_or_else(|| anyhow::anyhow!(NO_ADAPTER))?;
    println!("wgpu adapters (Vulkan, Metal, DirectX 12):");
    for adapter in &all {
        let mark = if std::ptr::eq(adapter, chosen) {
            "*"
        } else {
            " "
        };
        println!("{mark} {}", adapter.describe());
    }
    println!("--backend wgpu uses the one marked *");
    if chosen.is_software() {
        println!("(a software adapter: slower than --backend flex on this machine)");
    }
    Ok(())
}
