//! Bytes to pixels: any BMP or PNG, to an image in the ink convention, at
//! its own size or as a 28x28 data-set image.

use image::imageops::FilterType;
use image::{ImageReader, Limits};
use std::io::Cursor;

use crate::normalise::InkImage;
use crate::{PIXELS, SIDE};

/// A decoded image and whether it had to be resized to 28x28.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// `PIXELS` values, row-major, ink = 1.0, background = 0.0.
    pub image: Vec<f32>,
    /// The file was not 28x28 and was resized (documented policy: resize, and
    /// say so once per data folder).
    pub resized: bool,
}

/// Largest side accepted: anything bigger is not a character image, and a
/// forged header must not make the decoder allocate gigabytes.
const MAX_SIDE: u32 = 4096;

/// Decodes BMP (1-bit palette like the course files, 8-bit grey, RGB) or PNG
/// bytes at their own size. Colour is converted to grey, transparency is
/// composed over white, then the grey level is turned into ink: black ink on
/// white paper gives ink = 1.0 on 0.0. Any bytes give an image or an error,
/// never a panic.
pub fn decode_ink(bytes: &[u8]) -> Result<InkImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err("not a BMP or PNG file".to_string());
    }
    let picture = reader.decode().map_err(|e| e.to_string())?;
    if picture.width() == 0 || picture.height() == 0 {
        return Err("image has no pixels".to_string());
    }
    let grey_alpha = picture.to_luma_alpha8();
    let pixels = grey_alpha
        .pixels()
        .map(|p| {
            let [value, alpha] = p.0;
            let on_white = (value as u32 * alpha as u32 + 255 * (255 - alpha as u32)) / 255;
            1.0 - on_white as f32 / 255.0
        })
        .collect();
    Ok(InkImage {
        width: grey_alpha.width() as usize,
        height: grey_alpha.height() as usize,
        pixels,
    })
}

/// Decodes like [`decode_ink`], then resizes to 28x28 when the file has
/// another size (the data folders' documented policy).
pub fn decode_image(bytes: &[u8]) -> Result<Decoded, String> {
    let ink = decode_ink(bytes)?;
    let resized = ink.width != SIDE || ink.height != SIDE;
    let image = if resized {
        resize_to_side(&ink)
    } else {
        ink.pixels
    };
    debug_assert_eq!(image.len(), PIXELS);
    Ok(Decoded { image, resized })
}

/// The whole picture squeezed to 28x28, as the files of another size always
/// were (unlike [`crate::normalise`], which crops to the ink).
fn resize_to_side(ink: &InkImage) -> Vec<f32> {
    let paper: Vec<u8> = ink
        .pixels
        .iter()
        .map(|&v| 255 - (v * 255.0).round() as u8)
        .collect();
    let grey = image::GrayImage::from_raw(ink.width as u32, ink.height as u32, paper)
        .expect("width * height grey values");
    let small = image::imageops::resize(&grey, SIDE as u32, SIDE as u32, FilterType::Triangle);
    small
        .pixels()
        .map(|p| 1.0 - p.0[0] as f32 / 255.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_png_becomes_ink() {
        let mut g = image::GrayImage::from_pixel(28, 28, image::Luma([255]));
        g.put_pixel(3, 5, image::Luma([0]));
        let d = decode_image(&testdata::png(g)).unwrap();
        assert!(!d.resized);
        assert_eq!(d.image[5 * 28 + 3], 1.0);
        assert_eq!(d.image.iter().filter(|&&v| v > 0.0).count(), 1);
    }

    #[test]
    fn rgb_is_converted_and_large_images_resized() {
        let img = image::RgbImage::from_pixel(56, 56, image::Rgb([0, 0, 0]));
        let d = decode_image(&testdata::png(img)).unwrap();
        assert!(d.resized);
        assert_eq!(d.image.len(), PIXELS);
        assert!(d.image.iter().all(|&v| v > 0.99));
    }

    #[test]
    fn decode_ink_keeps_the_picture_size() {
        let mut g = image::GrayImage::from_pixel(300, 200, image::Luma([255]));
        g.put_pixel(299, 199, image::Luma([0]));
        let ink = decode_ink(&testdata::png(g)).unwrap();
        assert_eq!((ink.width, ink.height), (300, 200));
        assert_eq!(ink.pixels[199 * 300 + 299], 1.0);
        assert_eq!(ink.pixels.iter().filter(|&&v| v > 0.0).count(), 1);
    }

    #[test]
    fn transparent_background_is_paper() {
        let img = image::RgbaImage::from_pixel(28, 28, image::Rgba([0, 0, 0, 0]));
        let d = decode_image(&testdata::png(img)).unwrap();
        assert!(d.image.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn garbage_and_truncated_files_are_errors() {
        assert!(decode_image(b"").is_err());
        assert!(decode_image(b"hello, this is not an image").is_err());
        let png = testdata::png(image::GrayImage::new(28, 28));
        assert!(decode_image(&png[..png.len() / 2]).is_err());
    }
}
