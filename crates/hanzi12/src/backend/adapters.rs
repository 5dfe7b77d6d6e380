//! The GPU adapters wgpu finds on the compute APIs, and which one
//! `--backend wgpu` takes.

use burn::tensor::DeviceKind;
use burn::tensor::wgpu::WgpuBackend;

/// Why `--backend wgpu` cannot start where no adapter is found.
pub const NO_ADAPTER: &str = "--backend wgpu: no Vulkan, Metal or DirectX 12 adapter found on this machine (on Linux: a GPU's Vulkan driver, or Mesa's software one, mesa-vulkan-drivers); use --backend flex (the CPU backend) instead";

/// The graphics APIs whose adapters Burn's kernels run on. OpenGL adapters
/// are not enough: the kernels need compute shaders, and on a machine whose
/// only adapter is a GL context the first kernel fails deep inside.
const COMPUTE_APIS: [wgpu::Backend; 3] = [
    wgpu::Backend::Vulkan,
    wgpu::Backend::Metal,
    wgpu::Backend::Dx12,
];

/// A wgpu adapter, as its driver describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adapter {
    pub name: String,
    pub kind: wgpu::DeviceType,
    pub api: wgpu::Backend,
    pub driver: String,
}

impl From<wgpu::AdapterInfo> for Adapter {
    fn from(info: wgpu::AdapterInfo) -> Self {
        let driver = [info.driver, info.driver_info]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        Adapter {
            name: info.name,
            kind: info.device_type,
            api: info.backend,
            driver,
        }
    }
}

impl Adapter {
    /// A software rasterizer (Mesa's lavapipe, WARP): it runs Burn's kernels
    /// on the CPU, through a shader compiler, far slower than `flex`.
    pub fn is_software(&self) -> bool {
        self.kind == wgpu::DeviceType::Cpu
    }

    /// Preference order: a real GPU before a software one.
    fn rank(&self) -> u8 {
        match self.kind {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        }
    }

    /// `name (kind, API, driver)`, on one line.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Other => "other",
            wgpu::DeviceType::Cpu => "CPU, software",
        };
        let api = match self.api {
            wgpu::Backend::Vulkan => "Vulkan",
            wgpu::Backend::Metal => "Metal",
            wgpu::Backend::Dx12 => "DirectX 12",
            wgpu::Backend::Gl => "OpenGL",
            _ => "other API",
        };
        match self.driver.is_empty() {
            true => format!("{} ({kind}, {api})", self.name),
            false => format!("{} ({kind}, {api}, {})", self.name, self.driver),
        }
    }
}

/// Every adapter on the compute APIs, API by API in [`COMPUTE_APIS`] order
/// and each in its driver's order.
pub fn adapters() -> Vec<Adapter> {
    COMPUTE_APIS
        .into_iter()
        .filter(|api| wgpu::Instance::enabled_backend_features().contains((*api).into()))
        .flat_map(|api| {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends: api.into(),
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            futures_lite::future::block_on(instance.enumerate_adapters(api.into()))
                .iter()
                .map(|adapter| Adapter::from(adapter.get_info()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The adapter `--backend wgpu` uses: the best kind there is (discrete,
/// integrated, virtual, other, software last), the first found of that kind.
pub fn choose(adapters: &[Adapter]) -> Option<&Adapter> {
    adapters.iter().min_by_key(|a| a.rank())
}

/// The `count` adapters `--devices count` trains on: the best `count`
/// ([`choose`]'s order). A software adapter is taken only where every one
/// taken is: a step waits for its slowest device, so one beside a GPU would
/// hold the GPU back to its pace. The error names what there is.
pub fn choose_several(adapters: &[Adapter], count: usize) -> Result<Vec<&Adapter>, String> {
    let mut ranked: Vec<&Adapter> = adapters.iter().collect();
    ranked.sort_by_key(|a| a.rank());
    let hardware: Vec<&Adapter> = ranked
        .iter()
        .copied()
        .filter(|a| !a.is_software())
        .collect();
    let usable = match hardware.is_empty() {
        true => ranked,
        false => hardware,
    };
    if usable.len() >= count {
        return Ok(usable.into_iter().take(count).collect());
    }
    let names = |list: &[&Adapter]| {
        list.iter()
            .map(|a| a.describe())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let found = match usable.len() {
        0 => return Err(NO_ADAPTER.to_string()),
        1 => format!("1 adapter ({})", names(&usable)),
        n => format!("{n} adapters ({})", names(&usable)),
    };
    let software = adapters.len() - usable.len();
    let beside = match software {
        0 => String::new(),
        _ => " besides software ones, which would hold every step back to their pace".to_string(),
    };
    Err(format!(
        "--devices {count}: --backend wgpu found {found}{beside}; expected at least {count} (use --devices {}, or --backend flex, whose --devices runs several workers on the CPU)",
        usable.len()
    ))
}

/// How Burn names `chosen`: its API, and its kind numbered among the
/// adapters of that kind on that API, as CubeCL counts them.
pub(super) fn selector(chosen: &Adapter, all: &[Adapter]) -> (WgpuBackend, DeviceKind) {
    let index = all
        .iter()
        .take_while(|a| !std::ptr::eq(*a, chosen))
        .filter(|a| a.api == chosen.api && a.kind == chosen.kind)
        .count();
    let api = match chosen.api {
        wgpu::Backend::Metal => WgpuBackend::Metal,
        wgpu::Backend::Dx12 => WgpuBackend::Dx12,
        _ => WgpuBackend::Vulkan,
    };
    let kind = match chosen.kind {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::DiscreteGpu(index),
        wgpu::DeviceType::IntegratedGpu => DeviceKind::IntegratedGpu(index),
        wgpu::DeviceType::VirtualGpu => DeviceKind::VirtualGpu(index),
        wgpu::DeviceType::Cpu => DeviceKind::Cpu,
        // Burn has no selector for this kind; on its API, wgpu's own choice.
        wgpu::DeviceType::Other => DeviceKind::DefaultDevice,
    };
    (api, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, kind: wgpu::DeviceType, api: wgpu::Backend) -> Adapter {
        Adapter {
            name: name.into(),
            kind,
            api,
            driver: String::new(),
        }
    }

    #[test]
    fn a_real_gpu_is_chosen_over_a_software_one() {
        use wgpu::{Backend::*, DeviceType::*};
        let all = [
            adapter("llvmpipe", Cpu, Vulkan),
            adapter("Intel", IntegratedGpu, Vulkan),
            adapter("NVIDIA 1", DiscreteGpu, Vulkan),
            adapter("NVIDIA 2", DiscreteGpu, Vulkan),
        ];
        let chosen = choose(&all).unwrap();
        assert_eq!(chosen.name, "NVIDIA 1");
        assert_eq!(selector(chosen, &all).1, DeviceKind::DiscreteGpu(0));
        let no_discrete = &all[..2];
        assert_eq!(choose(no_discrete).unwrap().name, "Intel");
        let software = &all[..1];
        let chosen = choose(software).unwrap();
        assert!(chosen.is_software());
        assert_eq!(selector(chosen, software).1, DeviceKind::Cpu);
        assert!(choose(&[]).is_none());
    }

    #[test]
    fn several_devices_are_the_best_adapters_and_software_only_among_software() {
        use wgpu::{Backend::*, DeviceType::*};
        let all = [
            adapter("llvmpipe", Cpu, Vulkan),
            adapter("Intel", IntegratedGpu, Vulkan),
            adapter("NVIDIA 1", DiscreteGpu, Vulkan),
            adapter("NVIDIA 2", DiscreteGpu, Vulkan),
        ];
        let names =
            |chosen: Vec<&Adapter>| chosen.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(choose_several(&all, 2).unwrap()),
            ["NVIDIA 1", "NVIDIA 2"]
        );
        assert_eq!(
            names(choose_several(&all, 3).unwrap()),
            ["NVIDIA 1", "NVIDIA 2", "Intel"]
        );
        let error = choose_several(&all, 4).unwrap_err();
        assert!(
            error.starts_with("--devices 4: --backend wgpu found 3 adapters (NVIDIA 1 (discrete GPU, Vulkan); NVIDIA 2"),
            "{error}"
        );
        assert!(error.contains("besides software ones"), "{error}");
        assert!(error.contains("use --devices 3"), "{error}");
        // Only software adapters: they are taken, as for one device.
        let software = [adapter("llvmpipe", Cpu, Vulkan), adapter("WARP", Cpu, Dx12)];
        assert_eq!(
            names(choose_several(&software, 2).unwrap()),
            ["llvmpipe", "WARP"]
        );
        assert_eq!(
            choose_several(&software[..1], 2).unwrap_err(),
            "--devices 2: --backend wgpu found 1 adapter (llvmpipe (CPU, software, Vulkan)); expected at least 2 (use --devices 1, or --backend flex, whose --devices runs several workers on the CPU)"
        );
        assert_eq!(choose_several(&[], 2).unwrap_err(), NO_ADAPTER);
    }

    #[test]
    fn an_adapter_is_numbered_among_its_kind_on_its_api() {
        use wgpu::{Backend::*, DeviceType::*};
        let all = [
            adapter("llvmpipe", Cpu, Vulkan),
            adapter("GPU on DX12", IntegratedGpu, Dx12),
            adapter("GPU on Vulkan", IntegratedGpu, Vulkan),
        ];
        let chosen = choose(&all).unwrap();
        assert_eq!(chosen.name, "GPU on DX12");
        let (api, kind) = selector(chosen, &all);
        assert_eq!(api, WgpuBackend::Dx12);
        assert_eq!(kind, DeviceKind::IntegratedGpu(0));
        let (api, kind) = selector(&all[2], &all);
        assert_eq!(api, WgpuBackend::Vulkan);
        assert_eq!(kind, DeviceKind::IntegratedGpu(0));
    }

    #[test]
    fn describe_names_the_kind_and_the_api() {
        let mut a = adapter(
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            wgpu::DeviceType::Cpu,
            wgpu::Backend::Vulkan,
        );
        assert_eq!(
            a.describe(),
            "llvmpipe (LLVM 15.0.6, 256 bits) (CPU, software, Vulkan)"
        );
        a.driver = "llvmpipe, Mesa 22.3.6".into();
        assert!(a.describe().ends_with("Vulkan, llvmpipe, Mesa 22.3.6)"));
    }
}
