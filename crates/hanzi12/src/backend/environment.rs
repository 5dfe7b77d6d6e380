//! The process environment the GPU stack reads, set once at start.
//!
//! - Mesa's Vulkan drivers ship an implicit "device select" layer that, on
//!   every Vulkan instance, asks the window system which GPU it shows on: on
//!   a machine without one it prints `error: XDG_RUNTIME_DIR is invalid or
//!   not set in the environment.` twice, which reads like a failure of ours.
//!   `--backend wgpu` picks its adapter itself (`adapters::choose`), so the
//!   layer has nothing to do here and is switched off (`NODEVICE_SELECT=1`),
//!   unless the user steers it (`MESA_VK_DEVICE_SELECT`).
//! - Burn 0.22.1 puts a loaded optimizer state on `Device::default()` until
//!   its first step (`ModuleOptimizer::load_record`), and the default device
//!   of a build with wgpu is the GPU: resuming a CPU run started the GPU
//!   runtime. `BURN_DEVICE=flex` makes the default the CPU backend, from
//!   which the state moves to the run's own device at its first step.
//!
//! Either variable set by the user is left as it is.

/// The variables, and the values they get where unset.
const SETTINGS: [(&str, &str); 2] = [("NODEVICE_SELECT", "1"), ("BURN_DEVICE", "flex")];

/// Sets [`SETTINGS`] where the user has not.
///
/// # Safety
/// Must run before any other thread of the process exists: it changes the
/// environment, which other threads may be reading.
pub unsafe fn prepare_environment() {
    let steered = std::env::var_os("MESA_VK_DEVICE_SELECT").is_some();
    for (name, value) in SETTINGS {
        if std::env::var_os(name).is_some() || (name == "NODEVICE_SELECT" && steered) {
            continue;
        }
        // SAFETY: the caller guarantees this process has no other thread yet.
        unsafe { std::env::set_var(name, value) };
    }
}
