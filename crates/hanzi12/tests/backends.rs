//! One network, two backends: for each of the six networks, the same weights
//! and images give the same logits on `wgpu` as on `flex` (evaluation mode),
//! one training step from the same state gives the same gradients, running
//! statistics and updated weights, and a network trained on either backend,
//! saved and loaded on the other, gives the same answers.
//!
//! The wgpu device is the one `--backend wgpu` starts (`hanzi12::backend`).
//! Where that finds no adapter (no GPU driver, no
//! Mesa software Vulkan) each test says so in one line and checks nothing
//! else (under CI it fails: `testdata::missing`). All tests share one
//! process, so the kernels compiled for one network serve the others (on a
//! software adapter compiling is most of the time).
//! The wgpu training step must launch the `kernels` crate's own GPU kernels
//! (BatchNorm, loss; counted by `kernels::launches`), so what
//! is compared is those kernels against flex; the tests take turns on the
//! GPU, as launches are counted process-wide.
//!
//! Tolerances, for f32 arithmetic summed in another order:
//! - logits: [`LOGITS`] absolute;
//! - gradients: [`GRADIENTS`] times the largest gradient of that parameter,
//!   plus [`GRADIENT_FLOOR`] times the largest of the network (a gradient
//!   that is zero in exact arithmetic, such as a convolution bias followed by
//!   BatchNorm, is rounding noise of the terms summed into it);
//! - weights and running statistics after one step of the trainer's Adam:
//!   [`WEIGHTS`] absolute. Both backends' optimizers are given flex's
//!   gradients: Adam's first step is about ±lr for any gradient above its
//!   epsilon, so it would turn the rounding noise above into whole steps.
//!
//! Dropout draws its masks from each backend's own random generator, so the
//! two cannot match: the `*_dropout` networks are compared with their dropout
//! layers switched off (`freeze_group`), everything else training.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::GradientsParams;
use burn::prelude::*;
use dataset::synth::{SynthConfig, SyntheticHanzi12};
use dataset::{Hanzi12, Hanzi12Batch, Hanzi12Batcher, Hanzi12Item, PixelConvention};
use models::{ModelConfig, ModelOptions, Network};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use hanzi12::backend::{self, Backend};

const LOGITS: f32 = 1e-4;
/// Relative to a tensor's largest gradient. Through BatchNorm's backward
/// (means subtracted from sums over the batch) the two backends' rounding
/// differs by up to 1.1e-2 of cnn_bn's conv2 weight gradient (measured on
/// lavapipe); a wrong layer differs by the order of the gradient itself.
const GRADIENTS: f32 = 2e-2;
/// A gradient that is zero in exact arithmetic (a convolution's bias
/// straight before BatchNorm) is a sum of thousands of cancelling terms: its
/// rounding noise reached 1.02e-4 of the network's largest gradient in one
/// CI run (cnn_bn's conv1 bias), so the floor is 1e-3 of it; a real
/// difference between the backends is of the order of the largest itself.
const GRADIENT_FLOOR: f32 = 1e-3;
const WEIGHTS: f32 = 1e-5;
const LR: f64 = 1e-3;
/// Images per class in the batch.
const PER_CLASS: usize = 2;

/// The device `--backend wgpu` uses, or `None` (said in one line, or under
/// CI a failure) where the binary would refuse it for want of an adapter.
/// An adapter that is there but does not start is a failure.
fn wgpu() -> Option<Device> {
    if backend::choose(&backend::adapters()).is_none() {
        testdata::missing(testdata::NO_WGPU);
        return None;
    }
    Some(Backend::Wgpu.device().expect("the wgpu adapter starts"))
}

/// The tests' turn on the GPU: launches are counted process-wide, so while
/// one test counts its step's kernels no other may launch any.
fn gpu_turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// The hand-written GPU kernels (`kernels`' cube backend) a training step of
/// network `name` must launch on wgpu, so the comparison checks them and not
/// Burn's stock operations: the loss always, BatchNorm's where it has
/// BatchNorm.
fn cube_kernels(name: &str) -> Vec<&'static str> {
    let mut expected = vec!["CrossEntropyKernel"];
    if name.contains("bn") || name == "cnn_res" {
        expected.extend(["NormTrainKernel", "NormBackwardKernel"]);
    }
    expected
}

/// Real handwriting where there is some, else (said in one line, or under
/// CI a failure) the synthetic set.
fn items() -> Vec<Hanzi12Item> {
    match testdata::real_data_root() {
        Some(root) => Hanzi12::open(root)
            .expect("real data opens")
            .first_per_class(PER_CLASS)
            .items()
            .to_vec(),
        None => {
            testdata::missing_instead(testdata::NO_COURSE_DATA, "testing on synthetic handwriting");
            let synth = SyntheticHanzi12::new(SynthConfig::new(), PER_CLASS, 1);
            (0..synth.len())
                .map(|i| synth.get(i).expect("synthetic items always render"))
                .collect()
        }
    }
}

fn batch(items: &[Hanzi12Item], device: &Device) -> Hanzi12Batch {
    Hanzi12Batcher::new(PixelConvention::Ink).batch(items.to_vec(), device)
}

/// Every float tensor of a module (or its gradient) by path.
struct Snapshot<'a> {
    path: Vec<String>,
    grads: Option<&'a GradientsParams>,
    values: BTreeMap<String, Vec<f32>>,
}

impl ModuleVisitor for Snapshot<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = match self.grads {
            Some(grads) => match grads.get::<D>(param.id) {
                Some(grad) => grad,
                None => return,
            },
            None => param.val(),
        };
        let values = tensor.into_data().try_to_vec_as::<f32>().unwrap();
        self.values.insert(self.path.join("."), values);
    }
}

fn snapshot(model: &Network, grads: Option<&GradientsParams>) -> BTreeMap<String, Vec<f32>> {
    let mut visitor = Snapshot {
        path: Vec::new(),
        grads,
        values: BTreeMap::new(),
    };
    model.visit(&mut visitor);
    visitor.values
}

fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// Each tensor of `wgpu` within `tolerance(flex's values)` of `flex`'s;
/// the largest difference seen.
fn assert_same(
    what: &str,
    flex: &BTreeMap<String, Vec<f32>>,
    wgpu: &BTreeMap<String, Vec<f32>>,
    tolerance: impl Fn(&[f32]) -> f32,
) -> f32 {
    assert_eq!(
        flex.keys().collect::<Vec<_>>(),
        wgpu.keys().collect::<Vec<_>>(),
        "{what}"
    );
    let mut worst = 0.0f32;
    for (name, a) in flex {
        let (diff, limit) = (max_abs_diff(a, &wgpu[name]), tolerance(a));
        assert!(
            diff <= limit,
            "{what} {name}: max abs difference {diff:e} > {limit:e}"
        );
        worst = worst.max(diff);
    }
    worst
}

/// Evaluation-mode logits of `model` on `device`.
fn logits(model: &Network, items: &[Hanzi12Item], device: &Device) -> Vec<f32> {
    let logits = model.valid().forward(batch(items, device).images);
    logits.into_data().try_to_vec_as::<f32>().unwrap()
}

/// The predicted class of each image, where the top two logits are clearly
/// apart (`None` where they are within rounding of each other).
fn answers(logits: &[f32]) -> Vec<Option<usize>> {
    logits
        .chunks(models::NUM_CLASSES)
        .map(|row| {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            (row[order[0]] - row[order[1]] > 2.0 * LOGITS).then_some(order[0])
        })
        .collect()
}

/// Logits within [`LOGITS`], and the same answers; the largest difference.
fn assert_same_logits(what: &str, flex: &[f32], wgpu: &[f32]) -> f32 {
    let diff = max_abs_diff(flex, wgpu);
    assert!(
        diff <= LOGITS,
        "{what}: logits differ by {diff:e} > {LOGITS:e}"
    );
    for (i, (a, b)) in answers(flex).iter().zip(answers(wgpu)).enumerate() {
        if let (Some(a), Some(b)) = (a, b) {
            assert_eq!(
                *a, b,
                "{what}: image {i} read as class {a} on flex, {b} on wgpu"
            );
        }
    }
    diff
}

/// The gradients of the loss on `items` (and, through BatchNorm's forward
/// in training mode, the running statistics updated).
fn gradients(model: &Network, items: &[Hanzi12Item], device: &Device) -> GradientsParams {
    let loss = model.classify(batch(items, device)).loss;
    GradientsParams::from_grads(loss.backward(), model)
}

/// `gradients` (by path) as Burn's gradients of `model`'s parameters.
struct GradientsOf<'a> {
    path: Vec<String>,
    gradients: &'a BTreeMap<String, Vec<f32>>,
    out: GradientsParams,
}

impl ModuleVisitor for GradientsOf<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(values) = self.gradients.get(&self.path.join(".")) {
            let value = param.val();
            let data = TensorData::new(values.clone(), value.shape());
            let grad = Tensor::<D>::from_data(data, &value.device().inner());
            self.out.register(param.id, grad);
        }
    }
}

/// One step of the trainer's own optimizer (Adam, epsilon 1e-8, as
/// `train.rs` sets it up) with `gradients`.
fn adam_step(model: Network, gradients: &BTreeMap<String, Vec<f32>>) -> Network {
    let mut visitor = GradientsOf {
        path: Vec::new(),
        gradients,
        out: GradientsParams::new(),
    };
    model.visit(&mut visitor);
    models::Adam::new(1e-8, None).step(&LR.into(), model, visitor.out)
}

/// `model` saved and loaded on `to`: the same weights, sharing nothing.
fn moved(model: &Network, config: &ModelConfig, to: &Device, file: &std::path::Path) -> Network {
    model.valid().save_file(file).expect("weights save");
    config
        .init(to)
        .try_load_file(file)
        .expect("weights saved on one backend load on the other")
}

fn one_network_two_backends(name: &str) {
    let Some(gpu) = wgpu() else { return };
    let _turn = gpu_turn();
    let config = ModelConfig::from_name(name, &ModelOptions::default()).unwrap();
    let items = items();
    let flex = Device::flex();
    let (train_flex, train_gpu) = (flex.clone().autodiff(), gpu.clone().autodiff());
    let dropout_off = |model: Network| model.freeze_group(ParamGroup::from_predicate("dropout"));
    // The tests run in parallel and flex has one random generator.
    let on_flex = testdata::seeded_module(&train_flex, 7, || dropout_off(config.init(&train_flex)));
    // Dropout really is off: two training forwards agree (before the copy:
    // they move BatchNorm's running statistics).
    let forward = |m: &Network| m.forward(batch(&items, &train_flex).images).into_data();
    assert_eq!(
        forward(&on_flex),
        forward(&on_flex),
        "{name}: dropout still on"
    );

    // Through a file, not `fork`: a moved module shares BatchNorm's running
    // statistics with the original, and they must be updated separately.
    let dir = tempfile::tempdir().unwrap();
    let on_gpu = moved(
        &on_flex,
        &config,
        &train_gpu,
        &dir.path().join("initial.bpk"),
    );
    let on_gpu = dropout_off(on_gpu);
    // `valid` first: it folds in running statistics' pending updates.
    let before = snapshot(&on_flex.valid(), None);

    let initial = assert_same_logits(
        &format!("{name}, initial weights"),
        &logits(&on_flex, &items, &flex),
        &logits(&on_gpu, &items, &gpu),
    );

    let grads_flex = snapshot(&on_flex, Some(&gradients(&on_flex, &items, &train_flex)));
    let (grads_gpu, launches) =
        kernels::launches::count(&gpu, || gradients(&on_gpu, &items, &train_gpu));
    for kernel in cube_kernels(name) {
        assert!(
            launches.by_kernel.contains_key(kernel),
            "{name}: the training step on wgpu launched no {kernel}: {:?}",
            launches.ranked()
        );
    }
    let grads_gpu = snapshot(&on_gpu, Some(&grads_gpu));
    assert!(!grads_flex.is_empty(), "{name}: no gradients");
    // A gradient that is zero in exact arithmetic is rounding noise of the
    // terms summed into it, so the floor scales with the network's largest.
    let largest = grads_flex.values().map(|g| max_abs(g)).fold(0.0, f32::max);
    let gradients = assert_same(
        &format!("{name}: gradient of"),
        &grads_flex,
        &grads_gpu,
        |g| GRADIENTS * max_abs(g) + GRADIENT_FLOOR * largest,
    );
    // The optimizer on both backends from the same gradients: Adam's first
    // step is about ±lr for any gradient above epsilon, so the rounding
    // noise above would otherwise be amplified into whole steps.
    let (on_flex, on_gpu) = (
        adam_step(on_flex, &grads_flex),
        adam_step(on_gpu, &grads_flex),
    );
    let (after_flex, after_gpu) = (
        snapshot(&on_flex.valid(), None),
        snapshot(&on_gpu.valid(), None),
    );
    let weights = assert_same(
        &format!("{name}: after one Adam step,"),
        &after_flex,
        &after_gpu,
        |_| WEIGHTS,
    );
    // BatchNorm's running statistics moved in the step on both backends
    // (so the comparison above covers their update).
    for (path, old) in before.iter().filter(|(p, _)| p.contains("running_")) {
        assert_ne!(&after_gpu[path], old, "{name}: {path} not updated on wgpu");
        assert_ne!(&after_flex[path], old, "{name}: {path} not updated on flex");
    }
    let statistics = after_gpu
        .iter()
        .filter(|(p, _)| p.contains("running_"))
        .map(|(p, v)| max_abs_diff(v, &after_flex[p]))
        .fold(0.0, f32::max);
    let trained_flex = logits(&on_flex, &items, &flex);
    let trained_gpu = logits(&on_gpu, &items, &gpu);
    let trained = assert_same_logits(
        &format!("{name}, after one step"),
        &trained_flex,
        &trained_gpu,
    );

    // Trained on one backend, saved, loaded and used on the other.
    let gpu_on_flex = moved(&on_gpu, &config, &flex, &dir.path().join("gpu.bpk"));
    let to_flex = assert_same_logits(
        &format!("{name}, trained on wgpu, run on flex"),
        &logits(&gpu_on_flex, &items, &flex),
        &trained_gpu,
    );
    let flex_on_gpu = moved(&on_flex, &config, &gpu, &dir.path().join("flex.bpk"));
    let to_gpu = assert_same_logits(
        &format!("{name}, trained on flex, run on wgpu"),
        &trained_flex,
        &logits(&flex_on_gpu, &items, &gpu),
    );
    eprintln!(
        "{name}: max abs difference wgpu - flex: logits {initial:.1e} (initial), {trained:.1e} (after a step), \
         {to_flex:.1e} / {to_gpu:.1e} (moved to flex / wgpu); gradients {gradients:.1e} (largest {largest:.1e}); \
         weights and running statistics after Adam {weights:.1e} (statistics alone {statistics:.1e})"
    );
}

#[test]
fn mlp_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("mlp");
}

#[test]
fn cnn_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("cnn");
}

#[test]
fn cnn_bn_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("cnn_bn");
}

#[test]
fn cnn_dropout_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("cnn_dropout");
}

#[test]
fn cnn_bn_dropout_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("cnn_bn_dropout");
}

#[test]
fn cnn_res_is_the_same_network_on_wgpu_and_flex() {
    one_network_two_backends("cnn_res");
}

/// Dropout on wgpu drops about the share it is told to and scales the rest.
#[test]
fn dropout_on_wgpu_drops_its_share_and_scales_the_rest() {
    let Some(gpu) = wgpu() else { return };
    let _turn = gpu_turn();
    let dropout = burn::nn::DropoutConfig::new(0.25).init();
    let ones = Tensor::<2>::ones([64, 1024], &gpu.clone().autodiff());
    // The mask from a fixed seed (about 6 standard deviations fit in the
    // tolerance below, but no draw is left to chance).
    let out: Vec<f32> = testdata::seeded(&gpu, 25, || {
        dropout
            .forward(ones)
            .into_data()
            .try_to_vec_as::<f32>()
            .unwrap()
    });
    let dropped = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
    assert!((dropped - 0.25).abs() < 0.01, "dropped {dropped}");
    assert!(
        out.iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6),
        "kept values scaled by 1/(1-p)"
    );
}
