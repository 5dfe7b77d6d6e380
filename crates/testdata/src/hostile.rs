//! Inputs that attack a reader of pictures rather than show it one.

use std::io::Write;

/// A valid 1-bit PNG of `side` x `side` white pixels: a few kilobytes on
/// disk that decode to `side`² pixels (a decompression bomb).
pub fn huge_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().expect("a PNG header");
    let mut stream = writer.stream_writer().expect("a PNG stream");
    let row = vec![0xFF; (side as usize).div_ceil(8)];
    for _ in 0..side {
        stream.write_all(&row).expect("writing to memory");
    }
    stream.finish().expect("a finished stream");
    writer.finish().expect("a finished PNG");
    out
}
