//! Adam over a whole network on the GPU: one call, its updates in as few
//! kernel launches as the adapter's buffer bindings allow (not one per
//! parameter tensor), and the numbers it gives on the CPU. Where there is no
//! wgpu adapter, the test says so and passes (under CI it fails:
//! `testdata::missing`).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use models::{Adam, ModelConfig, ModelOptions, Network};

/// A gradient for each trainable parameter (as training has): a fixed
/// pattern of its shape.
struct PatternGrads {
    grads: GradientsParams,
    tensors: usize,
}

impl ModuleVisitor for PatternGrads {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return;
        }
        let shape = value.shape();
        let values: Vec<f32> = (0..shape.num_elements())
            .map(|i| ((i * 37 + self.tensors * 11) % 23) as f32 / 23.0 - 0.5)
            .collect();
        // Gradients are plain tensors, as `GradientsParams::from_grads` gives.
        let device = value.device().inner();
        let grad = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
        self.grads.register(param.id, grad);
        self.tensors += 1;
    }
}

/// Two Adam steps of `network` with the pattern gradients: the network
/// after them, and how many parameter tensors each step updated.
fn two_steps(network: Network) -> (Network, usize) {
    let adam = Adam::new(1e-8, Some(1e-4));
    let mut tensors = 0;
    let network = (0..2).fold(network, |network, _| {
        let mut grads = PatternGrads {
            grads: GradientsParams::new(),
            tensors: 0,
        };
        network.visit(&mut grads);
        tensors = grads.tensors;
        adam.step(&1e-3.into(), network, grads.grads)
    });
    (network, tensors)
}

fn weights(network: &Network) -> Vec<f32> {
    struct Values(Vec<f32>);
    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.val().into_data().try_to_vec::<f32>().unwrap();
            self.0.extend(values);
        }
    }
    let mut values = Values(Vec::new());
    network.visit(&mut values);
    values.0
}

#[test]
fn adam_on_the_gpu_is_a_few_launches_and_the_cpus_numbers() {
    let gpu = match kernels::wgpu_device() {
        Ok(device) => device.autodiff(),
        Err(reason) => return testdata::missing(&format!("{}: {reason}", testdata::NO_WGPU)),
    };
    let cpu = Device::flex().autodiff();
    let config = ModelConfig::from_name("cnn_res", &ModelOptions::default()).unwrap();
    let start = testdata::seeded_module(&cpu, 3, || config.init(&cpu));
    let file = tempfile::tempdir().unwrap();
    let file = file.path().join("start.bpk");
    start.clone().valid().save_file(&file).unwrap();
    let on_gpu = config.init(&gpu).try_load_file(&file).unwrap();

    let ((on_gpu, tensors), launches) = kernels::launches::count(&gpu, || two_steps(on_gpu));
    let adam_launches = launches.by_kernel.get("AdamKernel").copied().unwrap_or(0);
    assert!(adam_launches > 0, "no Adam kernel launched: {launches:?}");
    assert!(
        adam_launches < 2 * tensors,
        "{adam_launches} Adam launches for two steps of {tensors} parameter tensors"
    );
    let (on_cpu, _) = two_steps(start);
    for (gpu, cpu) in weights(&on_gpu).iter().zip(weights(&on_cpu)) {
        assert!(
            (gpu - cpu).abs() <= 1e-5 * cpu.abs().max(1.0),
            "{gpu} vs {cpu}"
        );
    }
}
