//! Starting the wgpu device on the chosen adapter, once per process, and
//! `trainer devices`.

use anyhow::Result;
use burn::prelude::*;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::adapters::{Adapter, NO_ADAPTER, adapters, choose, choose_several, selector};

/// The wgpu device `--backend wgpu` runs on, started once per process (a
/// runtime cannot be started twice), saying which adapter it runs on.
pub(super) fn wgpu_device() -> Result<Device> {
    let all = found();
    let chosen = choose(all).ok_or_else(|| anyhow::anyhow!(NO_ADAPTER))?;
    started(chosen, all).map_err(anyhow::Error::msg)
}

/// `--devices count` wgpu devices: the best `count` adapters, each started
/// once per process.
pub(super) fn wgpu_devices(count: usize) -> Result<Vec<Device>> {
    let all = found();
    let chosen = choose_several(all, count).map_err(anyhow::Error::msg)?;
    chosen
        .into_iter()
        .map(|adapter| started(adapter, all).map_err(anyhow::Error::msg))
        .collect()
}

/// The adapters on this machine, found once per process.
fn found() -> &'static [Adapter] {
    static FOUND: OnceLock<Vec<Adapter>> = OnceLock::new();
    FOUND.get_or_init(adapters)
}

/// `adapter`'s (one of `all`) device: started on first use, the same one
/// (or the same error) after. Adapters are told apart by their place in
/// `all`: two GPUs of one model describe themselves alike.
fn started(adapter: &Adapter, all: &[Adapter]) -> Result<Device, String> {
    static STARTED: Mutex<Vec<(usize, Result<Device, String>)>> = Mutex::new(Vec::new());
    let place = all.iter().position(|a| std::ptr::eq(a, adapter));
    let place = place.expect("an adapter of the list");
    let mut started = STARTED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, device)) = started.iter().find(|(p, _)| *p == place) {
        return device.clone();
    }
    let device = start_wgpu(adapter, all);
    started.push((place, device.clone()));
    device
}

fn start_wgpu(chosen: &Adapter, all: &[Adapter]) -> Result<Device, String> {
    // Before any tensor exists: see `kernels::prepare_gpu_runtime`.
    kernels::prepare_gpu_runtime();
    let (api, kind) = selector(chosen, all);
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
    let all = found();
    let chosen = choose(all).ok_or_else(|| anyhow::anyhow!(NO_ADAPTER))?;
    println!("wgpu adapters (Vulkan, Metal, DirectX 12):");
    for adapter in all {
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
