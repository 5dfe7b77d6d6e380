//! Using a saved run: `predict` on images, `eval` on a labelled folder.

use anyhow::{Context, Result, bail};
use burn::data::dataset::Dataset;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use dataset::{
    CHARACTERS, Hanzi12, Hanzi12Batcher, Hanzi12Item, NUM_CLASSES, NormaliseConfig, PIXELS, SIDE,
    is_image_path, network_input,
};
use models::Network;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::backend::Backend;
use crate::config::TrainConfig;
use crate::ensemble::Ensemble;
use crate::run_dir::RunDir;

/// Images run through the network at once.
const BATCH: usize = 256;

/// A trained network with the settings it was trained with.
pub struct Trained {
    pub config: TrainConfig,
    pub network: Network,
    pub device: Device,
}

impl Trained {
    /// Rebuilds the network from `config.json` and loads `model.bpk`.
    pub fn load(run_dir: &Path, backend: Backend) -> Result<Trained> {
        if !run_dir.is_dir() {
            bail!(
                "--checkpoint {}: no such run folder (expected a folder written by training, with config.json and model.bpk)",
                run_dir.display()
            );
        }
        let run = RunDir::new(run_dir);
        let config = run.load_config()?;
        let weights = run.model();
        if !weights.is_file() {
            bail!(
                "{}: missing (the run has not finished an epoch yet?)",
                weights.display()
            );
        }
        let device = backend.device()?;
        let network = run.load_weights(config.model.init(&device), &config.model)?;
        Ok(Trained {
            config,
            network,
            device,
        })
    }

    /// Class probabilities `[n][12]` of the items, in batches (on a thread of
    /// rayon's pool: see `kernels::on_pool_thread`).
    pub fn probabilities(&self, items: &[Hanzi12Item]) -> Vec<[f32; NUM_CLASSES]> {
        let batcher = Hanzi12Batcher::new(self.config.convention);
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(BATCH) {
            let probs = kernels::on_pool_thread(|| {
                let logits = self.network.forward(batcher.images(chunk, &self.device));
                softmax(logits, 1).into_data()
            });
            let probs = probs.try_to_vec_as::<f32>().expect("f32 probabilities");
            out.extend(
                probs
                    .chunks(NUM_CLASSES)
                    .map(|p| <[f32; NUM_CLASSES]>::try_from(p).expect("12 classes")),
            );
        }
        out
    }
}

fn argmax(p: &[f32; NUM_CLASSES]) -> usize {
    (0..NUM_CLASSES)
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .unwrap_or(0)
}

/// The image files named by `paths`: files as given, folders searched
/// recursively for .bmp and .png, in numeric-then-text order.
pub fn image_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_images(path, &mut found)?;
            if found.is_empty() {
                bail!("{}: no .bmp or .png images in this folder", path.display());
            }
            out.extend(found);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            bail!("{}: no such file or folder", path.display());
        }
    }
    Ok(out)
}

fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let key = |p: &PathBuf| {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        (stem.parse::<u64>().unwrap_or(u64::MAX), p.clone())
    };
    entries.sort_by_key(key);
    for path in entries {
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if is_image_path(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads images to unlabelled items, each turned into the input of the run's
/// network as the server does it ([`dataset::network_input`]), and says how
/// many were not 28x28 and so were cropped, scaled and centred.
pub fn read_items(paths: &[PathBuf], run: Option<&NormaliseConfig>) -> Result<Vec<Hanzi12Item>> {
    let mut normalised = 0;
    let items = paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let input = network_input(&bytes, run).map_err(|reason| {
                anyhow::anyhow!(
                    "cannot decode image {}: {reason} (expected a BMP or PNG)",
                    path.display()
                )
            })?;
            normalised += usize::from((input.width, input.height) != (SIDE, SIDE));
            Ok(unlabelled(input.image, path.display().to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    if normalised > 0 {
        println!(
            "note: {normalised} image(s) not 28x28: cropped to the ink, scaled to the course size and centred"
        );
    }
    Ok(items)
}

/// A 28x28 network input as an item with no label.
pub fn unlabelled(image: Vec<f32>, source: String) -> Hanzi12Item {
    Hanzi12Item {
        image,
        label: 0,
        character: CHARACTERS[0],
        source,
    }
}

/// `predict`: the top-k characters of each image, and optionally a CSV.
pub fn predict(
    ensemble: &Ensemble,
    paths: &[PathBuf],
    top_k: usize,
    csv: Option<&Path>,
) -> Result<()> {
    let files = image_paths(paths)?;
    let items = read_items(&files, ensemble.first().config.normalise.as_ref())?;
    // Each run sees the files as its own training normalised its images.
    let probs = ensemble.probabilities(items.len(), |normalise| {
        if normalise == ensemble.first().config.normalise.as_ref() {
            Ok(items.clone())
        } else {
            read_items(&files, normalise)
        }
    })?;
    let mut table = String::from("path,class,character,probability\n");
    for (item, p) in items.iter().zip(&probs) {
        let mut order: Vec<usize> = (0..NUM_CLASSES).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let best: Vec<String> = order
            .iter()
            .take(top_k.max(1))
            .map(|&k| format!("{} {:.3}", CHARACTERS[k], p[k]))
            .collect();
        println!("{}\t{}", item.source, best.join("  "));
        let k = order[0];
        table.push_str(&format!(
            "{},{},{},{:.6}\n",
            item.source,
            k + 1,
            CHARACTERS[k],
            p[k]
        ));
    }
    if let Some(csv) = csv {
        write_atomic(csv, table.as_bytes())?;
        println!("wrote {} predictions to {}", items.len(), csv.display());
    }
    Ok(())
}

/// The figures of an evaluation.
#[derive(Debug, serde::Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub accuracy: f64,
    pub per_class: Vec<f64>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    #[serde(skip)]
    pub mistakes: Vec<(Hanzi12Item, usize)>,
}

/// Scores the runs on every image of a labelled set.
pub fn evaluate(ensemble: &Ensemble, data: &Hanzi12) -> Result<Evaluation> {
    let probs = ensemble.probabilities(data.len(), |normalise| {
        Ok(data.clone().normalised(normalise).items().to_vec())
    })?;
    // The images as the first network saw them in training, for the gallery.
    let data = &data
        .clone()
        .normalised(ensemble.first().config.normalise.as_ref());
    let mut confusion = vec![vec![0usize; NUM_CLASSES]; NUM_CLASSES];
    let mut mistakes = Vec::new();
    for (item, p) in data.items().iter().zip(&probs) {
        let predicted = argmax(p);
        confusion[item.label][predicted] += 1;
        if predicted != item.label {
            mistakes.push((item.clone(), predicted));
        }
    }
    let n = data.len();
    let correct: usize = (0..NUM_CLASSES).map(|k| confusion[k][k]).sum();
    let per_class = (0..NUM_CLASSES)
        .map(|k| {
            let total: usize = confusion[k].iter().sum();
            if total == 0 {
                f64::NAN
            } else {
                confusion[k][k] as f64 / total as f64
            }
        })
        .collect();
    Ok(Evaluation {
        n,
        accuracy: correct as f64 / n.max(1) as f64,
        per_class,
        confusion,
        mistakes,
    })
}

impl Evaluation {
    pub fn report(&self) -> String {
        let mut s = format!(
            "accuracy {:.2}% on {} images ({} wrong)\n\nper class:\n",
            100.0 * self.accuracy,
            self.n,
            self.mistakes.len()
        );
        for (k, acc) in self.per_class.iter().enumerate() {
            s.push_str(&format!(
                "  {:>2} {}  {:6.2}%\n",
                k + 1,
                CHARACTERS[k],
                100.0 * acc
            ));
        }
        s.push_str("\nconfusion (rows: true, columns: predicted):\n     ");
        for c in CHARACTERS {
            s.push_str(&format!("{c:>3}"));
        }
        s.push('\n');
        for (k, row) in self.confusion.iter().enumerate() {
            s.push_str(&format!("  {} ", CHARACTERS[k]));
            for v in row {
                s.push_str(&format!("{v:>4}"));
            }
            s.push('\n');
        }
        s
    }

    /// The confusion matrix as a heat map (rows true, columns predicted),
    /// with the characters drawn along both edges.
    pub fn confusion_png(&self) -> image::GrayImage {
        const CELL: u32 = 28;
        let size = CELL * (NUM_CLASSES as u32 + 1);
        let mut img = image::GrayImage::from_pixel(size, size, image::Luma([255]));
        for k in 0..NUM_CLASSES {
            let offset = CELL * (k as u32 + 1);
            paste(&mut img, &glyph(k), offset, 0, 1);
            paste(&mut img, &glyph(k), 0, offset, 1);
            let total: usize = self.confusion[k].iter().sum::<usize>().max(1);
            for (p, &count) in self.confusion[k].iter().enumerate() {
                let shade = 255 - (255.0 * (count as f64 / total as f64).sqrt()) as u8;
                for y in 1..CELL - 1 {
                    for x in 1..CELL - 1 {
                        img.put_pixel(CELL * (p as u32 + 1) + x, offset + y, image::Luma([shade]));
                    }
                }
            }
        }
        img
    }

    /// The misclassified images (up to `limit`), each followed by its true
    /// and its predicted character in the font, framed in grey.
    pub fn mistakes_png(&self, limit: usize) -> image::GrayImage {
        const SCALE: u32 = 2;
        const TILE: u32 = SIDE as u32 * SCALE;
        const COLUMNS: u32 = 6;
        let shown = self.mistakes.len().min(limit).max(1) as u32;
        let rows = shown.div_ceil(COLUMNS);
        let width = COLUMNS * (3 * TILE + 8);
        let mut img =
            image::GrayImage::from_pixel(width + 8, rows * (TILE + 8) + 8, image::Luma([255]));
        for (i, (item, predicted)) in self.mistakes.iter().take(limit).enumerate() {
            let (x, y) = (
                (i as u32 % COLUMNS) * (3 * TILE + 8) + 4,
                (i as u32 / COLUMNS) * (TILE + 8) + 4,
            );
            frame(&mut img, x - 2, y - 2, 3 * TILE + 4, TILE + 4);
            paste(&mut img, &item.image, x, y, SCALE);
            paste(&mut img, &glyph(item.label), x + TILE, y, SCALE);
            paste(&mut img, &glyph(*predicted), x + 2 * TILE, y, SCALE);
        }
        img
    }
}

/// A clean drawing of character `k` from its stroke data, used as a label.
fn glyph(k: usize) -> Vec<f32> {
    dataset::synth::render(&dataset::synth::SynthConfig::plain(), k, 0, 1)
}

/// A one-pixel grey rectangle.
fn frame(img: &mut image::GrayImage, x: u32, y: u32, width: u32, height: u32) {
    let grey = image::Luma([170]);
    for dx in 0..width {
        for yy in [y, y + height - 1] {
            if x + dx < img.width() && yy < img.height() {
                img.put_pixel(x + dx, yy, grey);
            }
        }
    }
    for dy in 0..height {
        for xx in [x, x + width - 1] {
            if xx < img.width() && y + dy < img.height() {
                img.put_pixel(xx, y + dy, grey);
            }
        }
    }
}

/// Draws a 28x28 ink image (ink black) at (x, y), scaled.
fn paste(img: &mut image::GrayImage, ink: &[f32], x: u32, y: u32, scale: u32) {
    debug_assert_eq!(ink.len(), PIXELS);
    for (i, &v) in ink.iter().enumerate() {
        let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
        let (px, py) = ((i % SIDE) as u32 * scale, (i / SIDE) as u32 * scale);
        for dy in 0..scale {
            for dx in 0..scale {
                if x + px + dx < img.width() && y + py + dy < img.height() {
                    img.put_pixel(x + px + dx, y + py + dy, image::Luma([shade]));
                }
            }
        }
    }
}

/// Encodes a PNG and writes it atomically.
pub fn save_png<P>(img: &image::ImageBuffer<P, Vec<P::Subpixel>>, path: &Path) -> Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png)?;
    write_atomic(path, bytes.get_ref())
}
