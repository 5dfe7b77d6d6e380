//! The default wgpu device, for tests and tools that run on whatever
//! adapter the machine has (a real GPU, or Mesa's lavapipe on CI).

use std::sync::OnceLock;

use burn::tensor::Device;

/// wgpu's default adapter as a Burn device, started once per process (a
/// runtime cannot be started twice), in the runtime mode this project
/// trains in (see [`prepare_gpu_runtime`](crate::prepare_gpu_runtime)); the
/// reason in one line where there is no adapter.
pub fn wgpu_device() -> Result<Device, String> {
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            crate::prepare_gpu_runtime();
            Device::wgpu_options()
                .init()
                .map_err(|e| format!("no wgpu adapter on this machine ({e})"))
        })
        .clone()
}
