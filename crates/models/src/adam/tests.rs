use super::*;
use burn::nn::Linear;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::TensorData;
use std::ops::Range;

fn flex() -> Device {
    Device::flex().autodiff()
}

/// A device without the fused kernel: Burn's operations do the update.
fn ndarray() -> Device {
    #[allow(deprecated)]
    Device::ndarray().autodiff()
}

/// A small layer, the same for every optimizer: fixed weights and a zero
/// bias, built without `LinearConfig::init`, so nothing is drawn from the
/// backend's random generator (shared by the whole process).
fn layer_on(device: &Device) -> Linear {
    let start: Vec<f32> = (0..15).map(|i| (i as f32 * 0.7).sin()).collect();
    let start = Tensor::<2>::from_data(TensorData::new(start, [5, 3]), device);
    Linear {
        weight: Param::from_tensor(start),
        bias: Some(Param::from_tensor(Tensor::<1>::zeros([3], device))),
    }
}

/// The gradients of a least-squares fit at step `step`.
fn grads(layer: &Linear, step: usize) -> GradientsParams {
    let x = Tensor::<2>::ones([4, 5], &layer.weight.device()).mul_scalar(step as f32 + 1.0);
    let loss = layer.forward(x).powi_scalar(2).sum();
    GradientsParams::from_grads(loss.backward(), layer)
}

/// `steps` of the fit with Burn's `ModuleOptimizer` (Burn's Adam, or this
/// Adam's record keeper).
fn by_burn(optim: &mut ModuleOptimizer, mut layer: Linear, steps: Range<usize>) -> Linear {
    for step in steps {
        let grads = grads(&layer, step);
        layer = optim.step(1e-2, layer, grads);
    }
    layer
}

/// `steps` of the fit with this Adam.
fn by_adam(adam: &Adam, mut layer: Linear, steps: Range<usize>) -> Linear {
    for step in steps {
        let grads = grads(&layer, step);
        layer = adam.step(&1e-2.into(), layer, grads);
    }
    layer
}

fn burn_adam(decay: Option<f32>) -> ModuleOptimizer {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(decay.map(WeightDecayConfig::new))
        .init()
}

fn assert_same(a: &Linear, b: &Linear) {
    for (a, b) in weights(a).iter().zip(weights(b)) {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
    }
}

fn weights(layer: &Linear) -> Vec<f32> {
    let bias = layer.bias.as_ref().expect("a bias").val();
    let mut values: Vec<f32> = layer.weight.val().into_data().try_to_vec().unwrap();
    values.extend(bias.into_data().try_to_vec::<f32>().unwrap());
    values
}

#[test]
fn adam_takes_burns_steps() {
    for device in [flex(), ndarray()] {
        for decay in [None, Some(0.1)] {
            let burn = by_burn(&mut burn_adam(decay), layer_on(&device), 0..4);
            let ours = by_adam(&Adam::new(1e-8, decay), layer_on(&device), 0..4);
            assert_same(&ours, &burn);
        }
    }
}

/// The parameters stay trainable: the next forward pass has gradients.
#[test]
fn a_stepped_module_trains_on() {
    let layer = by_adam(&Adam::new(1e-8, None), layer_on(&flex()), 0..1);
    assert!(layer.weight.val().is_require_grad());
    assert_eq!(grads(&layer, 1).len(), 2);
}

/// A run saved with this Adam resumes under Burn's, and the other way
/// round: the record keeper's records are Burn's `Adam`'s.
#[test]
fn adam_records_carry_over_both_ways() {
    let device = flex();
    let ours = Adam::new(1e-8, None);
    let ours_layer = by_adam(&ours, layer_on(&device), 0..2);
    let mut burn = burn_adam(None);
    let burn_layer = by_burn(&mut burn, layer_on(&device), 0..2);

    let mut burn_from_ours =
        burn_adam(None).load_record(ours.record_keeper(&ours_layer).to_record());
    let ours_from_burn = Adam::new(1e-8, None);
    let _keeper = ours_from_burn
        .record_keeper(&burn_layer)
        .load_record(burn.to_record());

    let expected = by_burn(&mut burn, burn_layer.clone(), 2..4);
    assert_same(&by_burn(&mut burn_from_ours, ours_layer, 2..4), &expected);
    assert_same(&by_adam(&ours_from_burn, burn_layer, 2..4), &expected);
}

/// A keeper made before any step records every parameter (at time 0), and
/// stepping the keeper itself is stepping its Adam.
#[test]
fn the_record_keeper_knows_every_parameter_and_steps_as_its_adam() {
    let layer = layer_on(&flex());
    let mut keeper = Adam::new(1e-8, None).record_keeper(&layer);
    // The two moments of each of the two parameters.
    assert_eq!(keeper.to_record().len(), 4);
    let by_keeper = by_burn(&mut keeper, layer.clone(), 0..3);
    assert_same(&by_keeper, &by_adam(&Adam::new(1e-8, None), layer, 0..3));
}
