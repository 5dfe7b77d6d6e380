//! The report's four views of a training image, and hand-like distortions,
//! made on the fly.
//!
//! Randomness comes from `(seed, epoch, index)` alone, so the same run gives
//! the same images whatever the number of loader workers or the order in
//! which they fetch.

mod handwriting;

use burn::config::Config;
use burn::data::dataset::{Dataset, DatasetError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

pub use handwriting::HandwritingConfig;

use crate::seed::mix;
use crate::{Hanzi12Item, PIXELS, SIDE};
use handwriting::distort;

/// One view of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Augment {
    /// The image as it is.
    Plain,
    /// Shifted by (dx, dy), each in `-max_shift..=max_shift`; background fills in.
    Translate,
    /// A `crop` x `crop` window at a random position, pasted into the middle
    /// of an empty canvas: the character is cut and re-centred.
    Crop,
    /// `noise_pixels` random pixels set to ink and as many to background.
    Noise,
    /// As another hand might have written it: turned, slanted, stretched,
    /// with another pen and a wobble (see [`HandwritingConfig`]).
    Handwriting,
}

impl Augment {
    /// The report's four views, in its order.
    pub const ALL: [Augment; 4] = [
        Augment::Plain,
        Augment::Translate,
        Augment::Crop,
        Augment::Noise,
    ];

    /// This view of `image` (row-major `SIDE` x `SIDE`, any convention where
    /// 0.0 is background).
    pub fn apply(self, image: &[f32], config: &AugmentConfig, rng: &mut StdRng) -> Vec<f32> {
        match self {
            Augment::Plain => image.to_vec(),
            Augment::Translate => {
                let m = config.max_shift as i32;
                let dx = rng.random_range(-m..=m);
                let dy = rng.random_range(-m..=m);
                translate(image, dx as isize, dy as isize)
            }
            Augment::Crop => {
                let free = SIDE - config.crop;
                let (x0, y0) = (rng.random_range(0..=free), rng.random_range(0..=free));
                crop_recentre(image, config.crop, x0, y0)
            }
            Augment::Noise => {
                let mut out = image.to_vec();
                for value in [1.0, 0.0] {
                    for _ in 0..config.noise_pixels {
                        out[rng.random_range(0..PIXELS)] = value;
                    }
                }
                out
            }
            Augment::Handwriting => distort(image, &config.hand(), rng),
        }
    }
}

/// How training items are augmented in each epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AugmentScheme {
    /// Every image once per view per epoch: an epoch is 4N items, as in the report.
    Views4,
    /// One view drawn per item per epoch: an epoch is N items. The main
    /// job's (`hanzi12::Recipe`'s) scheme.
    #[default]
    Random,
    /// No augmentation (validation, evaluation).
    None,
    /// One hand-like distortion per item per epoch: an epoch is N items.
    Handwriting,
}

impl std::str::FromStr for AugmentScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "views4" => Ok(AugmentScheme::Views4),
            "random" => Ok(AugmentScheme::Random),
            "none" => Ok(AugmentScheme::None),
            "handwriting" => Ok(AugmentScheme::Handwriting),
            other => Err(format!(
                "unknown augmentation '{other}' (expected views4, random, none or handwriting)"
            )),
        }
    }
}

impl std::fmt::Display for AugmentScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AugmentScheme::Views4 => "views4",
            AugmentScheme::Random => "random",
            AugmentScheme::None => "none",
            AugmentScheme::Handwriting => "handwriting",
        })
    }
}

/// The augmentation settings: the report's limits, and the main job's
/// scheme (one random view of each image per epoch).
#[derive(Config, Debug, PartialEq)]
pub struct AugmentConfig {
    #[config(default = "AugmentScheme::Random")]
    pub scheme: AugmentScheme,
    /// Largest shift of `Translate`, in pixels.
    #[config(default = 2)]
    pub max_shift: usize,
    /// Side of the `Crop` window (22 leaves a 3-pixel border).
    #[config(default = 22)]
    pub crop: usize,
    /// Pixels set to ink, and as many to background, by `Noise`.
    #[config(default = 5)]
    pub noise_pixels: usize,
    /// Limits of the `handwriting` scheme's distortions; `None` means
    /// `HandwritingConfig::new()` (and is what configs saved before the
    /// scheme existed hold, so that they still load).
    pub handwriting: Option<HandwritingConfig>,
}

impl AugmentConfig {
    /// The limits the `handwriting` scheme distorts with.
    pub fn hand(&self) -> HandwritingConfig {
        self.handwriting
            .clone()
            .unwrap_or_else(HandwritingConfig::new)
    }

    /// The settings are usable: a crop window inside the image, shifts
    /// smaller than it, and usable handwriting limits.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=SIDE).contains(&self.crop) {
            return Err(format!("crop {} is outside 1..={SIDE} pixels", self.crop));
        }
        if self.max_shift >= SIDE {
            return Err(format!(
                "max_shift {} is not below {SIDE} pixels",
                self.max_shift
            ));
        }
        self.hand().check()
    }
}

/// A dataset seen through the augmentation scheme. Each index counts its own
/// visits, and the n-th visit of an index is epoch `first_epoch + n`: the
/// loader fetches every index once per epoch, so the epoch is known without
/// any hook into the training loop.
///
/// With [`shuffled`](Augmented::shuffled), position `i` of epoch `e` is a
/// fixed pseudo-random permutation of the items for that epoch, so the data
/// order, like the views, is a function of `(seed, epoch)` and a resumed run
/// sees exactly what the uninterrupted run would have.
pub struct Augmented<D> {
    inner: D,
    config: AugmentConfig,
    seed: u64,
    first_epoch: u64,
    shuffle: bool,
    visits: Vec<AtomicU64>,
}

impl<D: Dataset<Hanzi12Item>> Augmented<D> {
    pub fn new(inner: D, config: AugmentConfig, seed: u64) -> Self {
        let len = match config.scheme {
            AugmentScheme::Views4 => inner.len() * Augment::ALL.len(),
            AugmentScheme::Random | AugmentScheme::None | AugmentScheme::Handwriting => inner.len(),
        };
        Augmented {
            inner,
            config,
            seed,
            first_epoch: 0,
            shuffle: false,
            visits: (0..len).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Starts counting epochs at `epoch` (0-based), so a resumed run sees the
    /// images the uninterrupted run would have seen.
    pub fn starting_at_epoch(mut self, epoch: u64) -> Self {
        self.first_epoch = epoch;
        self
    }

    /// Visits the items in a new order every epoch (use instead of the
    /// loader's shuffle, whose order a resumed run cannot reproduce).
    pub fn shuffled(mut self) -> Self {
        self.shuffle = true;
        self
    }

    /// Item `index` as seen in `epoch`: a pure function of its arguments.
    pub fn view(&self, index: usize, epoch: u64) -> Result<Hanzi12Item, DatasetError> {
        let n = self.inner.len();
        let index = if self.shuffle {
            permute(
                index as u64,
                self.visits.len() as u64,
                mix(self.seed, epoch, u64::MAX),
            ) as usize
        } else {
            index
        };
        let mut rng = StdRng::seed_from_u64(mix(self.seed, epoch, index as u64));
        let (base, view) = match self.config.scheme {
            AugmentScheme::None => (index, Augment::Plain),
            AugmentScheme::Views4 => (index % n, Augment::ALL[index / n]),
            AugmentScheme::Random => (index, Augment::ALL[rng.random_range(0..Augment::ALL.len())]),
            AugmentScheme::Handwriting => (index, Augment::Handwriting),
        };
        let mut item = self.inner.get(base)?;
        if view != Augment::Plain {
            item.image = view.apply(&item.image, &self.config, &mut rng);
        }
        Ok(item)
    }
}

impl<D: Dataset<Hanzi12Item>> Dataset<Hanzi12Item> for Augmented<D> {
    fn get(&self, index: usize) -> Result<Hanzi12Item, DatasetError> {
        let epoch = self.first_epoch + self.visits[index].fetch_add(1, Ordering::Relaxed);
        self.view(index, epoch)
    }

    fn len(&self) -> usize {
        self.visits.len()
    }
}

/// A bijection of `0..n` chosen by `key`: a four-round Feistel network over
/// the smallest even-bit domain holding `n`, walking cycles until the value
/// falls inside `0..n`. Stateless, so any position maps in O(1) expected time.
pub fn permute(index: u64, n: u64, key: u64) -> u64 {
    debug_assert!(index < n);
    let bits = (64 - n.saturating_sub(1).leading_zeros())
        .max(2)
        .div_ceil(2);
    let mask = (1u64 << bits) - 1;
    let mut x = index;
    loop {
        let (mut left, mut right) = (x >> bits, x & mask);
        for round in 0..4 {
            let f = mix(key, round, right) & mask;
            (left, right) = (right, left ^ f);
        }
        x = (left << bits) | right;
        if x < n {
            return x;
        }
    }
}

/// `image` shifted right by `dx` and down by `dy`; what leaves the frame is lost.
pub fn translate(image: &[f32], dx: isize, dy: isize) -> Vec<f32> {
    let mut out = vec![0.0; PIXELS];
    let side = SIDE as isize;
    for y in 0..side {
        let sy = y - dy;
        if !(0..side).contains(&sy) {
            continue;
        }
        for x in 0..side {
            let sx = x - dx;
            if (0..side).contains(&sx) {
                out[(y * side + x) as usize] = image[(sy * side + sx) as usize];
            }
        }
    }
    out
}

/// The `crop` x `crop` window at (x0, y0), pasted in the middle of an empty canvas.
pub fn crop_recentre(image: &[f32], crop: usize, x0: usize, y0: usize) -> Vec<f32> {
    let mut out = vec![0.0; PIXELS];
    let border = (SIDE - crop) / 2;
    for y in 0..crop {
        let src = (y0 + y) * SIDE + x0;
        let dst = (border + y) * SIDE + border;
        out[dst..dst + crop].copy_from_slice(&image[src..src + crop]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a over the pixels of every item of three epochs of `scheme`,
    /// shuffled, on a few synthetic images.
    fn fingerprint(scheme: AugmentScheme) -> u64 {
        let base = crate::SyntheticHanzi12::new(crate::SynthConfig::new(), 2, 5);
        let data = Augmented::new(base, AugmentConfig::new().with_scheme(scheme), 17).shuffled();
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for epoch in 0..3 {
            for index in 0..data.len() {
                let item = data.view(index, epoch).unwrap();
                let bytes = item.image.iter().flat_map(|v| v.to_bits().to_le_bytes());
                for byte in bytes.chain(item.label.to_le_bytes()) {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        hash
    }

    /// The existing schemes give exactly the images (and order) they gave
    /// when these numbers were taken.
    #[test]
    fn existing_schemes_are_pinned() {
        let got = [
            fingerprint(AugmentScheme::Views4),
            fingerprint(AugmentScheme::Random),
            fingerprint(AugmentScheme::None),
        ];
        assert_eq!(
            got,
            [
                0xc956_58f4_057f_6904,
                0x73db_51ee_f8e2_3a84,
                0x22c3_18fb_7127_82b9,
            ]
        );
    }

    #[test]
    fn handwriting_is_one_distortion_per_item_seeded_by_epoch_and_index() {
        let base = crate::SyntheticHanzi12::new(crate::SynthConfig::new(), 2, 5);
        let config = AugmentConfig::new().with_scheme(AugmentScheme::Handwriting);
        let data = Augmented::new(base.clone(), config.clone(), 17).shuffled();
        let again = Augmented::new(base.clone(), config, 17).shuffled();
        assert_eq!(data.len(), base.len());
        for index in 0..data.len() {
            let item = data.view(index, 1).unwrap();
            assert_eq!(item, again.view(index, 1).unwrap());
            assert_ne!(item.image, data.view(index, 2).unwrap().image);
            let plain = base.get(permute(index as u64, 24, mix(17, 1, u64::MAX)) as usize);
            assert_eq!(item.label, plain.unwrap().label);
        }
        // Fetching counts epochs per index, like the other schemes.
        assert_eq!(data.get(3).unwrap(), data.view(3, 0).unwrap());
        assert_eq!(data.get(3).unwrap(), data.view(3, 1).unwrap());
    }

    #[test]
    fn handwriting_settings_default_parse_and_are_checked() {
        assert_eq!("handwriting".parse(), Ok(AugmentScheme::Handwriting));
        assert_eq!(AugmentScheme::Handwriting.to_string(), "handwriting");
        assert!(
            "scribble"
                .parse::<AugmentScheme>()
                .unwrap_err()
                .contains("handwriting")
        );
        let config = AugmentConfig::new();
        assert_eq!(config.hand(), HandwritingConfig::new());
        assert!(config.check().is_ok());
        let bad = config.with_handwriting(Some(HandwritingConfig::new().with_scale(0.9)));
        assert!(bad.check().unwrap_err().contains("scale"));
        assert!(AugmentConfig::new().with_crop(0).check().is_err());
    }

    /// A config saved before the handwriting scheme existed still loads.
    #[test]
    fn configs_without_handwriting_settings_load() {
        let old = r#"{"scheme":"views4","max_shift":2,"crop":22,"noise_pixels":5}"#;
        let config: AugmentConfig = serde_json::from_str(old).unwrap();
        assert_eq!(
            config,
            AugmentConfig::new().with_scheme(AugmentScheme::Views4)
        );
        let json = burn::config::config_to_json(&config.with_scheme(AugmentScheme::Handwriting));
        let back: AugmentConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.scheme, AugmentScheme::Handwriting);
    }

    #[test]
    fn permute_is_a_bijection_for_any_size() {
        for n in [1u64, 2, 3, 7, 64, 100, 1000, 20_928] {
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let j = permute(i, n, 99) as usize;
                assert!(!seen[j], "n {n}: {j} twice");
                seen[j] = true;
            }
        }
        let a: Vec<u64> = (0..50).map(|i| permute(i, 50, 1)).collect();
        let b: Vec<u64> = (0..50).map(|i| permute(i, 50, 2)).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn translate_and_crop_move_pixels_where_expected() {
        let mut image = vec![0.0; PIXELS];
        image[10 * SIDE + 10] = 1.0;
        let moved = translate(&image, 2, -1);
        assert_eq!(moved[9 * SIDE + 12], 1.0);
        assert_eq!(moved.iter().sum::<f32>(), 1.0);
        assert_eq!(translate(&image, 20, 0).iter().sum::<f32>(), 0.0);
        let cropped = crop_recentre(&image, 22, 5, 5);
        assert_eq!(cropped[8 * SIDE + 8], 1.0);
    }
}
