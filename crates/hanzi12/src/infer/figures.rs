//! `eval`'s pictures: the confusion matrix as a heat map and the gallery of
//! mistakes, each character drawn from its strokes; and PNG files written
//! atomically.

use anyhow::Result;
use dataset::{NUM_CLASSES, PIXELS, SIDE};
use std::path::Path;

use super::evaluation::Evaluation;
use crate::atomic::write_atomic;

impl Evaluation {
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
