//! The Hanzi12 data: the course's image folders and the project's synthetic
//! handwriting, as a Burn [`Dataset`](burn::data::dataset::Dataset) of
//! [`Hanzi12Item`]s, with the course's augmentations and hand-like
//! distortions done on the fly, and ink normalised to one size and place.

/// The twelve characters; class `k` (folder `k+1`) is `CHARACTERS[k]`.
pub const CHARACTERS: [char; 12] = [
    '博', '学', '笃', '志', '切', '问', '近', '思', '自', '由', '无', '用',
];
/// Number of classes.
pub const NUM_CLASSES: usize = CHARACTERS.len();
/// Images are `SIDE` x `SIDE` pixels.
pub const SIDE: usize = 28;
/// Pixels in one image.
pub const PIXELS: usize = SIDE * SIDE;

/// One image with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Hanzi12Item {
    /// `PIXELS` values in row-major order, ink = 1.0, background = 0.0.
    pub image: Vec<f32>,
    /// Class index, 0..12.
    pub label: usize,
    /// `CHARACTERS[label]`.
    pub character: char,
    /// Where the image came from: a file path, or `synth:<seed>/<class>/<n>`.
    pub source: String,
}

mod augment;
mod batcher;
pub mod bmp;
mod decode;
mod error;
mod folder;
mod input;
pub mod normalise;
mod seed;
pub mod sheet;
pub mod synth;

pub use augment::HandwritingConfig;
pub use augment::{
    Augment, AugmentConfig, AugmentScheme, Augmented, crop_recentre, permute, translate,
};
pub use batcher::{Hanzi12Batch, Hanzi12Batcher, PixelConvention};
pub use bmp::encode_bmp_1bit;
pub use decode::{Decoded, decode_image, decode_ink};
pub use error::DataError;
pub use folder::{DEFAULT_VALID_RATIO, Hanzi12, is_image_path};
pub use input::{NetworkInput, ink_to_input, network_input};
pub use normalise::{Centre, InkImage, NormaliseConfig, normalise};
pub use sheet::contact_sheet;
pub use synth::{SynthConfig, SyntheticHanzi12};
