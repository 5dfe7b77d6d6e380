//! How a picture becomes the network's input: the one decision shared by
//! `predict` and the server, so that both see a drawing the same way.
//!
//! A run trained on normalised ink (its config's `normalise`) gets every
//! picture normalised the same way, whatever its size, straight from the
//! picture's own pixels. A run trained on the course's raw boxes gets a
//! 28x28 picture as it is (the course files are 28x28 boxes with the
//! character where its writer put it), and a picture of any other size (a
//! canvas, a scan, a photo) made to look like a course file: cropped to its
//! ink, scaled with its aspect kept so that the longer side is the course
//! median of 22 px, centred by mass in the 28x28 box and made 1-bit
//! ([`NormaliseConfig::course_like`]).

use crate::normalise::{InkImage, NormaliseConfig, normalise};
use crate::{PIXELS, SIDE, decode_ink};

/// A picture as the network sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkInput {
    /// `PIXELS` values, row-major, ink = 1.0, paper = 0.0.
    pub image: Vec<f32>,
    /// The picture's own size.
    pub width: usize,
    pub height: usize,
    /// Whether it was normalised (any size but 28x28) rather than taken as it is.
    pub normalised: bool,
}

/// Decodes BMP or PNG bytes ([`decode_ink`]) and turns the picture into the
/// network's input ([`ink_to_input`]). Any bytes give an input or an error
/// that says why, never a panic.
pub fn network_input(bytes: &[u8], run: Option<&NormaliseConfig>) -> Result<NetworkInput, String> {
    decode_ink(bytes).map(|ink| ink_to_input(ink, run))
}

/// A decoded picture to the input of a network trained with `run`'s
/// normalisation: normalised by it, or, for a raw-box network, 28x28 as it
/// is and any other size normalised like a course file.
pub fn ink_to_input(ink: InkImage, run: Option<&NormaliseConfig>) -> NetworkInput {
    let (width, height) = (ink.width, ink.height);
    let normalised = run.is_some() || width != SIDE || height != SIDE;
    let image = match run {
        Some(config) => normalise(&ink, config),
        None if normalised => normalise(&ink, &NormaliseConfig::course_like()),
        None => ink.pixels,
    };
    debug_assert_eq!(image.len(), PIXELS);
    NetworkInput {
        image,
        width,
        height,
        normalised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_course_sized_picture_is_taken_as_it_is() {
        // Ink in a corner, nowhere near the course's size or place: kept there.
        let mut g = image::GrayImage::from_pixel(28, 28, image::Luma([255]));
        g.put_pixel(1, 2, image::Luma([0]));
        let input = network_input(&testdata::png(g), None).unwrap();
        assert!(!input.normalised);
        assert_eq!(input.image[2 * 28 + 1], 1.0);
        assert_eq!(input.image.iter().filter(|&&v| v > 0.0).count(), 1);
    }

    #[test]
    fn a_drawing_of_another_size_is_cropped_scaled_and_centred() {
        // A 40x200 bar in the top-left of a 400x400 canvas.
        let mut g = image::GrayImage::from_pixel(400, 400, image::Luma([255]));
        for y in 10..210 {
            for x in 20..60 {
                g.put_pixel(x, y, image::Luma([0]));
            }
        }
        let input = network_input(&testdata::png(g), None).unwrap();
        assert!(input.normalised);
        assert_eq!((input.width, input.height), (400, 400));
        assert!(input.image.iter().all(|&v| v == 0.0 || v == 1.0), "1-bit");
        let rows: Vec<usize> = (0..SIDE)
            .filter(|y| (0..SIDE).any(|x| input.image[y * SIDE + x] > 0.0))
            .collect();
        assert_eq!(rows.len(), 22, "longer side scaled to 22 px");
        let (top, bottom) = (rows[0], rows[rows.len() - 1]);
        assert_eq!(top + bottom, 27, "centred: rows {top}..={bottom}");
    }

    #[test]
    fn a_normalising_run_normalises_every_size_from_its_own_pixels() {
        // The same 6x6 square, small in a 28x28 box and large on a canvas.
        let mut small = image::GrayImage::from_pixel(28, 28, image::Luma([255]));
        let mut large = image::GrayImage::from_pixel(280, 280, image::Luma([255]));
        for y in 2..8 {
            for x in 3..9 {
                small.put_pixel(x, y, image::Luma([0]));
            }
        }
        for y in 20..80 {
            for x in 30..90 {
                large.put_pixel(x, y, image::Luma([0]));
            }
        }
        let run = NormaliseConfig::default();
        let a = network_input(&testdata::png(small), Some(&run)).unwrap();
        let b = network_input(&testdata::png(large), Some(&run)).unwrap();
        assert!(a.normalised && b.normalised);
        // Both squares fill 22x22 px: the same amount of ink, whatever their
        // size in the picture.
        for input in [a, b] {
            let ink: f32 = input.image.iter().sum();
            assert!((ink / 484.0 - 1.0).abs() < 0.03, "{ink}");
        }
    }

    #[test]
    fn bad_bytes_are_an_error() {
        assert!(network_input(b"", None).is_err());
        assert!(network_input(b"GIF89a not supported", None).is_err());
    }
}
