//! `bench`: throughput and memory of training, inference and the data
//! pipeline, measured after a warm-up. Figures only; nothing is asserted.

use anyhow::Result;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::TrainStep;
use dataset::{
    AugmentConfig, AugmentScheme, Augmented, Hanzi12, Hanzi12Batch, Hanzi12Batcher, Hanzi12Item,
    SIDE, decode_image,
};
use hanzi12::Backend;
use hanzi12::infer::{INFER_BATCH, inference_figures, random_images};
use models::{Adam, MODEL_NAMES, ModelConfig, ModelOptions, Network, Trainee};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::time::Instant;

/// Training steps whose GPU kernel launches are counted (after the warm-up,
/// so autotune and the first compilations are over).
const COUNTED_STEPS: usize = 2;

#[derive(Debug, serde::Serialize)]
pub struct Figures {
    pub model: String,
    pub backend: String,
    pub batch: usize,
    pub train_img_per_s: f64,
    /// Milliseconds per training step in each phase.
    pub forward_ms: f64,
    pub backward_ms: f64,
    pub optimizer_ms: f64,
    pub infer_img_per_s: f64,
    pub infer_batch: usize,
    pub infer_batch1_img_per_s: f64,
    pub latency_ms: f64,
    pub data_img_per_s: f64,
    pub decode_img_per_s: f64,
    pub peak_rss_mb: f64,
    /// GPU kernel launches per training step (forward, backward, Adam) and
    /// per inference batch at `infer_batch`; `None` on a CPU backend.
    pub train_launches_per_step: Option<f64>,
    pub infer_launches_per_batch: Option<f64>,
    /// The same launches by kernel name (per step, per batch).
    pub train_launches: BTreeMap<String, f64>,
    pub infer_launches: BTreeMap<String, f64>,
}

/// Kernel launches of `runs` repetitions of some work, per repetition.
#[derive(Default)]
struct LaunchFigures {
    per_run: Option<f64>,
    by_kernel: BTreeMap<String, f64>,
}

impl LaunchFigures {
    fn new(launches: kernels::launches::Launches, runs: usize) -> Self {
        let per = |count: usize| count as f64 / runs as f64;
        LaunchFigures {
            per_run: Some(per(launches.total())),
            by_kernel: launches
                .by_kernel
                .into_iter()
                .map(|(name, count)| (name, per(count)))
                .collect(),
        }
    }
}

impl Figures {
    /// The figures in one line of text (and the GPU's kernel launches on a
    /// second line, where they were counted).
    pub fn line(&self) -> String {
        let launches = match (self.train_launches_per_step, self.infer_launches_per_batch) {
            (Some(t), Some(i)) => {
                format!("\n  kernel launches: {t:.0} per training step, {i:.0} per inference batch")
            }
            _ => String::new(),
        };
        format!(
            "{} on {}: train {:.0} img/s (batch {}; per step forward {:.1} ms, backward {:.1} ms, optimizer {:.1} ms), inference {:.0} img/s (batch {}), {:.0} img/s at batch 1 ({:.2} ms), data pipeline {:.0} img/s, decode {:.0} img/s, peak RSS {:.0} MB",
            self.model,
            self.backend,
            self.train_img_per_s,
            self.batch,
            self.forward_ms,
            self.backward_ms,
            self.optimizer_ms,
            self.infer_img_per_s,
            self.infer_batch,
            self.infer_batch1_img_per_s,
            self.latency_ms,
            self.data_img_per_s,
            self.decode_img_per_s,
            self.peak_rss_mb
        ) + &launches
    }
}

/// Random binary images at the real data's ink density, and labels.
fn random_batch(size: usize, device: &Device, rng: &mut StdRng) -> Hanzi12Batch {
    let images = random_images(size, device, rng);
    let targets: Vec<i64> = (0..size).map(|_| rng.random_range(0..12)).collect();
    Hanzi12Batch {
        images,
        targets: Tensor::from_data(TensorData::new(targets, [size]), device),
        smoothing: None,
        step_share: 1.0,
    }
}

/// Training speed: images per second over whole steps (forward, backward,
/// Adam), then, in separately timed steps, the share of each phase.
struct TrainFigures {
    img_per_s: f64,
    forward_ms: f64,
    backward_ms: f64,
    optimizer_ms: f64,
    launches: LaunchFigures,
}

fn train_throughput(
    config: &ModelConfig,
    device: &Device,
    batch: usize,
    steps: usize,
    count_launches: bool,
) -> TrainFigures {
    let device = device.clone().autodiff();
    let mut rng = StdRng::seed_from_u64(1);
    let mut model = config.init(&device);
    let adam = Adam::new(1e-8, None);
    let mut records = adam.record_keeper(&model);
    let batches: Vec<Hanzi12Batch> = (0..4)
        .map(|_| random_batch(batch, &device, &mut rng))
        .collect();
    let mut step = |model: Network, i: usize, phases: Option<&mut [f64; 3]>| {
        let started = Instant::now();
        let loss = model.classify(batches[i % batches.len()].clone()).loss;
        let forward = phases.is_some().then(|| {
            // Reading the loss waits for the forward pass on any backend.
            let _ = loss.clone().into_data();
            started.elapsed().as_secs_f64()
        });
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let backward = started.elapsed().as_secs_f64();
        // As the Learner does: Adam over all parameters in one call (on a
        // GPU, one launch).
        let trainee = Trainee::new(model, Some(adam.clone()));
        let model = TrainStep::optimize(trainee, &mut records, 1e-3.into(), grads).network;
        if let (Some(phases), Some(forward)) = (phases, forward) {
            sync(&model, &device);
            let total = started.elapsed().as_secs_f64();
            phases[0] += forward;
            phases[1] += backward - forward;
            phases[2] += total - backward;
        }
        model
    };
    for i in 0..3 {
        model = step(model, i, None);
    }
    sync(&model, &device);
    let mut launches = LaunchFigures::default();
    if count_launches {
        let counted;
        (model, counted) = kernels::launches::count(&device, || {
            (0..COUNTED_STEPS).fold(model, |model, i| step(model, i, None))
        });
        launches = LaunchFigures::new(counted, COUNTED_STEPS);
    }
    let started = Instant::now();
    for i in 0..steps {
        model = step(model, i, None);
    }
    sync(&model, &device);
    let img_per_s = (steps * batch) as f64 / started.elapsed().as_secs_f64();
    let timed = steps.clamp(1, 10);
    let phases = phase_seconds(model, &mut step, timed);
    let ms = |s: f64| 1000.0 * s / timed as f64;
    TrainFigures {
        img_per_s,
        forward_ms: ms(phases[0]),
        backward_ms: ms(phases[1]),
        optimizer_ms: ms(phases[2]),
        launches,
    }
}

/// Seconds spent in the forward pass, the backward pass and the optimizer
/// over `steps` more steps. On GPU backends the backward pass runs
/// asynchronously, so its time shows up in the optimizer phase, which
/// waits for it.
fn phase_seconds(
    mut model: Network,
    step: &mut impl FnMut(Network, usize, Option<&mut [f64; 3]>) -> Network,
    steps: usize,
) -> [f64; 3] {
    let mut phases = [0.0; 3];
    for i in 0..steps {
        model = step(model, i, Some(&mut phases));
    }
    phases
}

/// Waits for queued work (GPU backends run asynchronously) by reading a value back.
fn sync(model: &Network, device: &Device) {
    let probe = Tensor::<4>::zeros([1, 1, SIDE, SIDE], device);
    let _ = model.forward(probe).into_data();
}

/// The kernel launches of one forward pass of `model` at the inference batch
/// (after a warm-up pass), with the read of its output.
fn infer_launches(model: &Network, device: &Device) -> LaunchFigures {
    let mut rng = StdRng::seed_from_u64(2);
    let images = random_images(INFER_BATCH, device, &mut rng);
    let _ = model.forward(images.clone()).into_data();
    let ((), counted) = kernels::launches::count(device, || {
        let _ = model.forward(images).into_data();
    });
    LaunchFigures::new(counted, 1)
}

/// Images per second through the training pipeline: views4 augmentation and
/// batching into tensors; and decoding of course-style BMP files.
fn data_throughput(data: &Hanzi12, batch: usize, device: &Device) -> (f64, f64) {
    let augmented = Augmented::new(
        data.clone(),
        AugmentConfig::new().with_scheme(AugmentScheme::Views4),
        3,
    )
    .shuffled();
    let batcher = Hanzi12Batcher::default();
    let n = augmented.len().min(20_000);
    let started = Instant::now();
    let mut items: Vec<Hanzi12Item> = Vec::with_capacity(batch);
    for i in 0..n {
        items.push(augmented.get(i).expect("in-memory item"));
        if items.len() == batch || i + 1 == n {
            let _: Hanzi12Batch = batcher.batch(std::mem::take(&mut items), device);
        }
    }
    let augment = n as f64 / started.elapsed().as_secs_f64();

    let files: Vec<Vec<u8>> = data
        .items()
        .iter()
        .take(2000)
        .map(|item| dataset::bmp::encode_bmp_1bit(&item.image))
        .collect();
    let started = Instant::now();
    for bytes in &files {
        decode_image(bytes).expect("encoded BMP decodes");
    }
    (
        augment,
        files.len() as f64 / started.elapsed().as_secs_f64(),
    )
}

/// Peak resident memory of this process so far, in MB (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub fn bench(
    models: &[String],
    backend: Backend,
    batch: usize,
    steps: usize,
    data: &Hanzi12,
) -> Result<Vec<Figures>> {
    let device = backend.device()?;
    let names: Vec<&str> = if models.iter().any(|m| m == "all") {
        MODEL_NAMES.to_vec()
    } else {
        models.iter().map(String::as_str).collect()
    };
    let (data_img_per_s, decode_img_per_s) = data_throughput(data, batch, &device);
    let mut out = Vec::new();
    for name in names {
        let config = ModelConfig::from_name(name, &ModelOptions::default())
            .map_err(|e| anyhow::anyhow!("--model {name}: {e}"))?;
        // Only a GPU backend launches kernels.
        let count_launches = backend == Backend::Wgpu;
        // As training runs its steps (see `kernels::on_pool_thread`).
        let train = kernels::on_pool_thread(|| {
            train_throughput(&config, &device, batch, steps, count_launches)
        });
        let model = config.init(&device);
        let (infer_img_per_s, infer_batch1_img_per_s) = inference_figures(&model, &device);
        let infer = match count_launches {
            true => kernels::on_pool_thread(|| infer_launches(&model, &device)),
            false => LaunchFigures::default(),
        };
        out.push(Figures {
            model: name.to_string(),
            backend: backend.to_string(),
            batch,
            train_img_per_s: train.img_per_s,
            forward_ms: train.forward_ms,
            backward_ms: train.backward_ms,
            optimizer_ms: train.optimizer_ms,
            infer_img_per_s,
            infer_batch: INFER_BATCH,
            infer_batch1_img_per_s,
            latency_ms: 1000.0 / infer_batch1_img_per_s,
            data_img_per_s,
            decode_img_per_s,
            peak_rss_mb: peak_rss_mb(),
            train_launches_per_step: train.launches.per_run,
            infer_launches_per_batch: infer.per_run,
            train_launches: train.launches.by_kernel,
            infer_launches: infer.by_kernel,
        });
    }
    Ok(out)
}
