//! Writes images as the course's files are written: 28 x 28, 1 bit per pixel,
//! palette BMPs of 174 bytes.

use crate::{PIXELS, SIDE};

/// Bytes in one encoded file.
pub const BMP_LEN: usize = HEADER_LEN + ROW_BYTES * SIDE;

/// File header (14) + info header (40) + two palette entries (8).
const HEADER_LEN: usize = 14 + 40 + 8;
/// One row of 28 bits, padded to a multiple of 4 bytes.
const ROW_BYTES: usize = SIDE.div_ceil(32) * 4;

/// Encodes a 28 x 28 image (`PIXELS` values, row-major, ink = 1.0) as a 1-bit
/// palette BMP byte for byte like the course files: palette index 0 is black
/// (ink, for values >= 0.5) and 1 is white; rows are stored bottom-up, each
/// padded with zero bits to 4 bytes; 3779 pixels per metre (96 dpi).
///
/// # Panics
/// When `image` does not hold exactly `PIXELS` values.
pub fn encode_bmp_1bit(image: &[f32]) -> Vec<u8> {
    assert_eq!(image.len(), PIXELS, "a Hanzi12 image has {PIXELS} pixels");
    let mut out = Vec::with_capacity(BMP_LEN);
    // BITMAPFILEHEADER
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(BMP_LEN as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]); // reserved
    out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    // BITMAPINFOHEADER
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(SIDE as i32).to_le_bytes()); // width
    out.extend_from_slice(&(SIDE as i32).to_le_bytes()); // height > 0: bottom-up
    out.extend_from_slice(&1u16.to_le_bytes()); // planes
    out.extend_from_slice(&1u16.to_le_bytes()); // bits per pixel
    out.extend_from_slice(&0u32.to_le_bytes()); // no compression
    out.extend_from_slice(&((ROW_BYTES * SIDE) as u32).to_le_bytes());
    out.extend_from_slice(&3779i32.to_le_bytes()); // x pixels per metre
    out.extend_from_slice(&3779i32.to_le_bytes()); // y pixels per metre
    out.extend_from_slice(&2u32.to_le_bytes()); // colours used
    out.extend_from_slice(&2u32.to_le_bytes()); // colours important
    // Palette (blue, green, red, reserved): 0 = black, 1 = white.
    out.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    // Pixels, bottom row first; a set bit is palette index 1 (white).
    for row in (0..SIDE).rev() {
        let mut bytes = [0u8; ROW_BYTES];
        for col in 0..SIDE {
            if image[row * SIDE + col] < 0.5 {
                bytes[col / 8] |= 0x80 >> (col % 8);
            }
        }
        out.extend_from_slice(&bytes);
    }
    debug_assert_eq!(out.len(), BMP_LEN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ink = 1.0 for dark pixels, as the course loader reads them.
    fn decode(bytes: &[u8]) -> Vec<f32> {
        let img = image::load_from_memory(bytes).expect("decodes").to_luma8();
        assert_eq!(img.dimensions(), (SIDE as u32, SIDE as u32));
        img.pixels()
            .map(|p| if p.0[0] < 128 { 1.0 } else { 0.0 })
            .collect()
    }

    fn pattern() -> Vec<f32> {
        (0..PIXELS)
            .map(|i| {
                let (r, c) = (i / SIDE, i % SIDE);
                if (r * 7 + c * 3) % 5 == 0 || r == 0 || c == SIDE - 1 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn has_the_course_layout() {
        let bytes = encode_bmp_1bit(&pattern());
        assert_eq!(bytes.len(), 174);
        assert_eq!(&bytes[..2], b"BM");
        assert_eq!(u32::from_le_bytes(bytes[10..14].try_into().unwrap()), 62);
    }

    #[test]
    fn decodes_to_the_same_pixels() {
        let image = pattern();
        assert_eq!(decode(&encode_bmp_1bit(&image)), image);
        let blank = vec![0.0; PIXELS];
        assert_eq!(decode(&encode_bmp_1bit(&blank)), blank);
        let full = vec![1.0; PIXELS];
        assert_eq!(decode(&encode_bmp_1bit(&full)), full);
    }

    #[test]
    fn reencodes_course_files_byte_for_byte() {
        let Some(dir) = testdata::real_data_root() else {
            return testdata::missing(testdata::NO_COURSE_DATA);
        };
        let mut checked = 0;
        for k in 1..=12 {
            for n in [1, 2, 100, 520] {
                let path = dir.join(format!("{k}/{n}.bmp"));
                let Ok(original) = std::fs::read(&path) else {
                    continue;
                };
                let pixels = decode(&original);
                assert_eq!(encode_bmp_1bit(&pixels), original, "{}", path.display());
                checked += 1;
            }
        }
        if checked == 0 {
            testdata::missing(&format!(
                "no course files n.bmp (n = 1, 2, 100, 520) under {}",
                dir.display()
            ));
        }
    }
}
