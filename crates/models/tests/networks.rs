use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use dataset::Hanzi12Batch;
use models::*;

fn device() -> Device {
    Device::flex()
}

fn config(name: &str) -> ModelConfig {
    ModelConfig::from_name(name, &ModelOptions::default()).unwrap()
}

/// `config`'s network on `device`, its initial weights drawn from a fixed
/// seed: the tests run in parallel, and each backend has one random
/// generator for the whole process (see `testdata::seeded`).
fn network(config: &ModelConfig, device: &Device) -> Network {
    testdata::seeded_module(device, 12, || config.init(device))
}

/// A fixed batch of sparse binary images, like the course's.
fn batch(size: usize, device: &Device) -> Hanzi12Batch {
    let pixels: Vec<f32> = (0..size * 784)
        .map(|i| ((i * 7919 + i / 13) % 9 == 0) as u8 as f32)
        .collect();
    let targets: Vec<i64> = (0..size as i64).map(|i| i % 12).collect();
    Hanzi12Batch {
        images: Tensor::from_data(TensorData::new(pixels, [size, 1, 28, 28]), device),
        targets: Tensor::from_data(TensorData::new(targets, [size]), device),
        smoothing: None,
        step_share: 1.0,
    }
}

#[test]
fn every_model_maps_images_to_twelve_logits() {
    for name in MODEL_NAMES {
        let model = network(&config(name), &device());
        let out = model.forward(batch(3, &device()).images);
        assert_eq!(out.dims(), [3, 12], "{name}");
    }
}

#[test]
fn parameter_counts_match_the_pytorch_reference() {
    let expected = [
        ("mlp", 204_044),
        ("cnn", 421_900),
        ("cnn_bn", 422_092),
        ("cnn_dropout", 421_900),
        ("cnn_bn_dropout", 422_092),
        ("cnn_res", 422_284),
    ];
    for (name, count) in expected {
        assert_eq!(
            network(&config(name), &device()).num_trainable_params(),
            count,
            "{name}"
        );
    }
}

#[test]
fn names_round_trip_and_bad_options_are_refused() {
    for name in MODEL_NAMES {
        assert_eq!(config(name).name(), name);
        let json = serde_json::to_string(&config(name)).unwrap();
        let back: ModelConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.name(), name, "{json}");
    }
    let hidden = ModelOptions {
        hidden: Some(vec![256, 128]),
        ..Default::default()
    };
    match ModelConfig::from_name("mlp", &hidden).unwrap() {
        ModelConfig::Mlp(c) => assert_eq!(c.layers, vec![784, 256, 128, 12]),
        other => panic!("{other:?}"),
    }
    assert!(
        ModelConfig::from_name("resnet", &ModelOptions::default())
            .unwrap_err()
            .to_string()
            .contains("cnn_res")
    );
    let bad = ModelOptions {
        dropout: Some(1.0),
        ..Default::default()
    };
    // The library names settings, never a command line's flags.
    for (name, options) in [("cnn_dropout", &bad), ("cnn", &hidden)] {
        let error = ModelConfig::from_name(name, options)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("--"), "{error}");
    }
}

#[test]
fn dropout_is_active_in_training_only() {
    let options = ModelOptions {
        dropout: Some(0.5),
        ..Default::default()
    };
    for name in ["mlp", "cnn_dropout"] {
        let train_device = device().autodiff();
        let model = network(
            &ModelConfig::from_name(name, &options).unwrap(),
            &train_device,
        );
        let images = batch(4, &train_device).images;
        // The masks from a fixed seed too; each forward draws its own.
        let (a, b) = testdata::seeded(&train_device, 13, || {
            (
                model.forward(images.clone()).into_data(),
                model.forward(images.clone()).into_data(),
            )
        });
        assert_ne!(a, b, "{name}: training outputs should differ");
        let eval = model.valid();
        let images = batch(4, &device()).images;
        let a = eval.forward(images.clone()).into_data();
        let b = eval.forward(images).into_data();
        assert_eq!(a, b, "{name}: evaluation outputs should be equal");
    }
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_in_evaluation() {
    let train_device = device().autodiff();
    let model = network(&config("cnn_res"), &train_device);
    let images = batch(4, &train_device).images;
    // One image's output in training depends on the other images in the batch.
    let alone = model.forward(images.clone().slice(0..1)).into_data();
    let together = model.forward(images).slice(0..1).into_data();
    assert_ne!(alone, together);
    // In evaluation it does not: running statistics are used.
    let eval = model.valid();
    let images = batch(4, &device()).images;
    let alone = eval.forward(images.clone().slice(0..1));
    let together = eval.forward(images).slice(0..1);
    alone
        .into_data()
        .assert_approx_eq::<f32>(&together.into_data(), Default::default());
}

#[test]
fn a_few_optimizer_steps_lower_the_loss_of_every_model() {
    let train_device = device().autodiff();
    for name in MODEL_NAMES {
        let loss_of = |m: &Network| {
            m.valid()
                .classify(batch(24, &device()))
                .loss
                .into_scalar::<f32>()
        };
        // The initial weights and the dropout masks of the training steps
        // from one seed: the same 8 steps every run.
        let (before, after) = testdata::seeded(&train_device, 14, || {
            let mut model = config(name).init(&train_device);
            let mut optim = AdamConfig::new().init();
            let before = loss_of(&model);
            for _ in 0..8 {
                let loss = model.classify(batch(24, &train_device)).loss;
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-3, model, grads);
            }
            (before, loss_of(&model))
        });
        assert!(after < before, "{name}: loss {before} -> {after}");
    }
}

#[test]
fn a_saved_config_and_record_rebuild_the_same_network() {
    let dir = tempfile::tempdir().unwrap();
    for name in MODEL_NAMES {
        let config = config(name);
        let model = network(&config, &device());
        let images = batch(2, &device()).images;
        let expected = model.forward(images.clone()).into_data();
        let json = serde_json::to_string(&config).unwrap();
        let path = dir.path().join(format!("{name}.bpk"));
        model.save_file(&path).unwrap();

        let rebuilt: ModelConfig = serde_json::from_str(&json).unwrap();
        let loaded = rebuilt.init(&device()).try_load_file(&path).unwrap();
        assert_eq!(loaded.forward(images).into_data(), expected, "{name}");
    }
}
