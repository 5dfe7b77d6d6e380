//! Counting the GPU kernels a piece of work launches.
//!
//! On a GPU a small network's step costs its kernel launches, not its
//! arithmetic, so the launch count is the figure to watch. CubeCL calls an
//! observer for every kernel launch it issues, on any runtime and adapter
//! (lavapipe included), before the kernel is submitted; [`count`] installs
//! one around a piece of work and tallies the launches by kernel name.
//!
//! GPU work runs asynchronously and Burn's fusion records operations before
//! it launches them, so the device is synchronised before the count starts
//! (nothing earlier is counted) and before it ends (everything the work
//! queued is launched and counted).
//!
//! Autotune's own measurement launches (its candidates run on the device's
//! service thread) are counted apart, in [`Launches::probes`]: they happen
//! the first time a shape is met, not in a steady step.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use burn::tensor::Device;
use cubecl::config::{TypeNameFormatLevel, type_name_format};
use cubecl::logging::{LaunchObservation, LaunchObserver};

/// The kernels launched by a piece of work.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launches {
    /// Launches by kernel name (CubeCL's short name: `KernelBinop`, `MatmulEntry`, ...).
    pub by_kernel: BTreeMap<String, usize>,
    /// Autotune's candidate runs, left out of `by_kernel`.
    pub probes: usize,
}

impl Launches {
    /// All launches but autotune's probes.
    pub fn total(&self) -> usize {
        self.by_kernel.values().sum()
    }

    /// The kernels by count, most launched first (ties by name).
    pub fn ranked(&self) -> Vec<(&str, usize)> {
        let mut ranked: Vec<(&str, usize)> = self
            .by_kernel
            .iter()
            .map(|(name, &count)| (name.as_str(), count))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked
    }
}

/// The tally the observer keeps; kernel names are `'static` in CubeCL.
#[derive(Default)]
struct Tally {
    by_kernel: BTreeMap<&'static str, usize>,
    probes: usize,
}

#[derive(Default)]
struct Counter(Mutex<Tally>);

impl LaunchObserver for Counter {
    fn launched(&self, kernel: &'static str) {
        let probe = is_probe_thread(std::thread::current().name());
        let mut tally = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if probe {
            tally.probes += 1;
        } else {
            *tally.by_kernel.entry(kernel).or_default() += 1;
        }
    }
}

/// Whether a launch issued on a thread of this name is one of autotune's:
/// CubeCL runs each device's server on a thread named `DSD-<type>-<index>`
/// ("downstream device service"), and autotune benchmarks its candidates
/// there, while the work itself is issued by the caller's thread or by
/// fusion's own service thread (`DSU-...`).
fn is_probe_thread(name: Option<&str>) -> bool {
    name.is_some_and(|name| name.starts_with("DSD-"))
}

/// Runs `work` and counts the kernels it launches on `device` (and any
/// other CubeCL device: the hook is process-wide, so nothing else should
/// launch kernels meanwhile). On a device without kernels (flex) the count
/// is empty.
pub fn count<R>(device: &Device, work: impl FnOnce() -> R) -> (R, Launches) {
    settle(device);
    let counter = Arc::new(Counter::default());
    let observation = LaunchObservation::new(counter.clone());
    let result = work();
    settle(device);
    drop(observation);
    let tally = std::mem::take(&mut *counter.0.lock().unwrap_or_else(|e| e.into_inner()));
    let by_kernel =
        tally
            .by_kernel
            .into_iter()
            .fold(BTreeMap::new(), |mut names, (kernel, count)| {
                *names.entry(short_name(kernel)).or_default() += count;
                names
            });
    let launches = Launches {
        by_kernel,
        probes: tally.probes,
    };
    (result, launches)
}

/// Launches everything queued on `device` and waits for it. A device that
/// cannot sync has already failed; the work's own reads report that.
fn settle(device: &Device) {
    let _ = device.sync();
}

/// CubeCL's short form of a kernel's type name (as its profiling logger
/// prints it): the last path segment before any generics.
fn short_name(kernel: &str) -> String {
    type_name_format(kernel, TypeNameFormatLevel::Short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_the_launches_of_device_service_threads() {
        assert!(is_probe_thread(Some("DSD-0-0")));
        assert!(!is_probe_thread(Some("DSU-0-0")));
        assert!(!is_probe_thread(Some("main")));
        assert!(!is_probe_thread(None));
    }

    #[test]
    fn names_are_shortened_as_the_profiling_logger_does() {
        let name = "burn_cubecl::kernel::binary::KernelBinop<f32, burn_cubecl::Add>";
        assert_eq!(short_name(name), "KernelBinop");
    }

    #[test]
    fn ranked_puts_the_most_launched_first() {
        let launches = Launches {
            by_kernel: [
                ("b".to_string(), 1),
                ("a".to_string(), 1),
                ("c".to_string(), 5),
            ]
            .into_iter()
            .collect(),
            probes: 3,
        };
        assert_eq!(launches.total(), 7);
        assert_eq!(launches.ranked(), vec![("c", 5), ("a", 1), ("b", 1)]);
    }
}
