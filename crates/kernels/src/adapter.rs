//! The default wgpu device, for tests and tools that run on whatever
//! adapter the machine has (a real GPU, or Mesa's lavapipe on CI).

use std::sync::OnceLock;

use burn::tensor::Device;
use burn::tensor::wgpu::WgpuBackend;

/// The platform's compute API, the one `--backend wgpu` uses: with no
/// Vulkan driver wgpu would otherwise fall back to OpenGL, which does not
/// run Burn's kernels.
const COMPUTE_API: WgpuBackend = if cfg!(target_os = "macos") {
    WgpuBackend::Metal
} else if cfg!(windows) {
    WgpuBackend::Dx12
} else {
    WgpuBackend::Vulkan
};

/// wgpu's default adapter on the platform's compute API (Vulkan, Metal or
/// DirectX 12) as a Burn device, started once per process (a
/// runtime cannot be started twice), in the runtime mode this project
/// trains in (see [`prepare_gpu_runtime`](crate::prepare_gpu_runtime)); the
/// reason in one line where there is no adapter.
pub fn wgpu_device() -> Result<Device, String> {
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            crate::prepare_gpu_runtime();
            Device::wgpu_options()
                .graphics_api(COMPUTE_API)
                .init()
                .map_err(|e| format!("no wgpu adapter on this machine ({e})"))
        })
        .clone()
}
