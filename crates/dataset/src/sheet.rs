//! Contact sheets: a picture of some real and some synthetic samples of every
//! class side by side, to see at a glance whether the synthetic writers look
//! like the real ones.

use burn::data::dataset::Dataset;
use image::{GrayImage, Luma};

use crate::{Hanzi12Item, NUM_CLASSES, SIDE};

/// Each image pixel becomes `SHEET_SCALE` x `SHEET_SCALE` sheet pixels.
pub const SHEET_SCALE: usize = 2;
/// Width of the grey lines between cells, px.
const SEP: usize = 1;
/// Extra width of the dark line between the real and the synthetic block, px.
const GAP: usize = 2;
const CELL: usize = SIDE * SHEET_SCALE;

const INK: Luma<u8> = Luma([0]);
const PAPER: Luma<u8> = Luma([255]);
const LINE: Luma<u8> = Luma([160]);
const DIVIDER: Luma<u8> = Luma([64]);
/// A cell with no sample (the data set has too few of that class).
const EMPTY: Luma<u8> = Luma([220]);

/// Width and height in pixels of a sheet with `per_class` samples of each kind
/// per row, with or without a real block.
pub fn sheet_size(per_class: usize, with_real: bool) -> (u32, u32) {
    let columns = if with_real { 2 * per_class } else { per_class };
    let width = columns * CELL + (columns + 1) * SEP + if with_real { GAP } else { 0 };
    let height = NUM_CLASSES * CELL + (NUM_CLASSES + 1) * SEP;
    (width as u32, height as u32)
}

/// One row per class (`CHARACTERS` order): `per_class` samples of `real`
/// (when given), a dark divider, then `per_class` samples of `synth`, each
/// scaled up `SHEET_SCALE` times, black ink on white, with thin grey lines
/// between cells. The samples are spread over each data set (not just its
/// first items); a class with fewer samples leaves light grey cells.
pub fn contact_sheet(
    real: Option<&dyn Dataset<Hanzi12Item>>,
    synth: &dyn Dataset<Hanzi12Item>,
    per_class: usize,
) -> GrayImage {
    let (width, height) = sheet_size(per_class, real.is_some());
    let mut sheet = GrayImage::from_pixel(width, height, LINE);
    let mut x0 = SEP;
    for dataset in real.into_iter().chain([synth]) {
        let picks = pick(dataset, per_class);
        for (class, items) in picks.iter().enumerate() {
            let y0 = SEP + class * (CELL + SEP);
            for slot in 0..per_class {
                let x = x0 + slot * (CELL + SEP);
                match items.get(slot) {
                    Some(item) => draw(&mut sheet, x, y0, &item.image),
                    None => fill(&mut sheet, x, y0, CELL, CELL, EMPTY),
                }
            }
        }
        x0 += per_class * (CELL + SEP);
        if real.is_some() && x0 < width as usize - SEP {
            // The divider between the real and the synthetic block.
            fill(&mut sheet, x0 - SEP, 0, SEP + GAP, height as usize, DIVIDER);
            x0 += GAP;
        }
    }
    sheet
}

/// Up to `per_class` items of each class, visited in a fixed order that
/// strides through the whole data set; stops once every class is full.
fn pick(dataset: &dyn Dataset<Hanzi12Item>, per_class: usize) -> Vec<Vec<Hanzi12Item>> {
    let mut picks: Vec<Vec<Hanzi12Item>> = vec![Vec::new(); NUM_CLASSES];
    let len = dataset.len();
    if per_class == 0 || len == 0 {
        return picks;
    }
    let stride = coprime_stride(len);
    let mut full = 0;
    for j in 0..len {
        let Ok(item) = dataset.get((j * stride) % len) else {
            continue;
        };
        let Some(slot) = picks.get_mut(item.label) else {
            continue;
        };
        if slot.len() < per_class {
            slot.push(item);
            if slot.len() == per_class {
                full += 1;
                if full == NUM_CLASSES {
                    break;
                }
            }
        }
    }
    picks
}

/// A step near 0.618 * len that visits every index of 0..len once.
fn coprime_stride(len: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let mut stride = ((len as f64 * 0.618_034) as usize).max(1);
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    stride
}

fn draw(sheet: &mut GrayImage, x0: usize, y0: usize, image: &[f32]) {
    for y in 0..CELL {
        for x in 0..CELL {
            let v = image
                .get((y / SHEET_SCALE) * SIDE + x / SHEET_SCALE)
                .copied()
                .unwrap_or(0.0);
            let px = if v >= 0.5 { INK } else { PAPER };
            sheet.put_pixel((x0 + x) as u32, (y0 + y) as u32, px);
        }
    }
}

fn fill(sheet: &mut GrayImage, x0: usize, y0: usize, w: usize, h: usize, px: Luma<u8>) {
    for y in y0..(y0 + h).min(sheet.height() as usize) {
        for x in x0..(x0 + w).min(sheet.width() as usize) {
            sheet.put_pixel(x as u32, y as u32, px);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthConfig, SyntheticHanzi12};

    #[test]
    fn sheet_has_the_promised_size() {
        let synth = SyntheticHanzi12::new(SynthConfig::new(), 5, 1);
        let sheet = contact_sheet(None, &synth, 3);
        assert_eq!(sheet.dimensions(), sheet_size(3, false));
        assert_eq!(sheet.dimensions(), (3 * 56 + 4, 12 * 56 + 13));

        let other = SyntheticHanzi12::new(SynthConfig::new(), 2, 2);
        let sheet = contact_sheet(Some(&other), &synth, 3);
        assert_eq!(sheet.dimensions(), sheet_size(3, true));
        assert_eq!(sheet.dimensions(), (6 * 56 + 7 + 2, 12 * 56 + 13));
        // `other` has only 2 per class: its third column is left empty.
        let x = SEP + 2 * (CELL + SEP) + CELL / 2;
        assert_eq!(*sheet.get_pixel(x as u32, (SEP + CELL / 2) as u32), EMPTY);
    }

    #[test]
    fn cells_show_the_samples() {
        let synth = SyntheticHanzi12::new(SynthConfig::new(), 1, 3);
        let sheet = contact_sheet(None, &synth, 1);
        for class in 0..NUM_CLASSES {
            let item = synth.get(class).unwrap();
            let y0 = SEP + class * (CELL + SEP);
            for (i, v) in item.image.iter().enumerate() {
                let (r, c) = (i / SIDE, i % SIDE);
                let px = sheet.get_pixel(
                    (SEP + c * SHEET_SCALE) as u32,
                    (y0 + r * SHEET_SCALE) as u32,
                );
                assert_eq!(*px, if *v >= 0.5 { INK } else { PAPER });
            }
        }
    }

    #[test]
    fn stride_visits_every_index() {
        for len in [1, 2, 12, 100, 6240, 12_000] {
            let stride = coprime_stride(len);
            let mut seen = vec![false; len];
            (0..len).for_each(|j| seen[(j * stride) % len] = true);
            assert!(seen.iter().all(|&s| s), "len {len}");
        }
    }
}
