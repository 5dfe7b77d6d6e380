//! Property test of the decoder path: any bytes give an image or an error,
//! never a panic. Inputs are mutations of valid course-style BMPs and PNGs
//! (flipped bytes, forged header fields, truncations, splices) and noise.

use dataset::{PIXELS, decode_image};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn seeds() -> Vec<Vec<u8>> {
    let mut image = vec![0.0f32; PIXELS];
    for i in (0..PIXELS).step_by(7) {
        image[i] = 1.0;
    }
    let bmp = dataset::bmp::encode_bmp_1bit(&image);
    let mut png = std::io::Cursor::new(Vec::new());
    image::GrayImage::from_fn(28, 28, |x, y| image::Luma([((x * y) % 256) as u8]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    vec![bmp, png.into_inner()]
}

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    match rng.random_range(0..5) {
        0 => {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
        }
        1 => {
            // Forge a header field (sizes, offsets, bit depth) with an extreme value.
            let i = rng.random_range(0..bytes.len().min(60).saturating_sub(4));
            let v: u32 = [
                0,
                1,
                u32::MAX,
                0x7fff_ffff,
                0x8000_0000,
                65_535,
                rng.random(),
            ][rng.random_range(0..7)];
            bytes[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        2 => bytes.truncate(rng.random_range(0..bytes.len())),
        3 => {
            let extra: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            let at = rng.random_range(0..bytes.len());
            bytes.splice(at..at, extra);
        }
        _ => {
            bytes = (0..rng.random_range(0..256))
                .map(|_| rng.random())
                .collect()
        }
    }
    bytes
}

#[test]
fn any_bytes_decode_to_an_image_or_an_error() {
    let seeds = seeds();
    for seed in &seeds {
        assert!(decode_image(seed).is_ok());
    }
    let mut rng = StdRng::seed_from_u64(2024);
    let mut outcomes = [0usize; 2];
    for _ in 0..20_000 {
        let seed = &seeds[rng.random_range(0..seeds.len())];
        let bytes = mutate(&mut rng, seed);
        let result = std::panic::catch_unwind(|| decode_image(&bytes));
        match result {
            Ok(Ok(decoded)) => {
                assert_eq!(decoded.image.len(), PIXELS);
                assert!(decoded.image.iter().all(|v| (0.0..=1.0).contains(v)));
                outcomes[0] += 1;
            }
            Ok(Err(message)) => {
                assert!(!message.is_empty());
                outcomes[1] += 1;
            }
            Err(_) => panic!(
                "decoder panicked on {} bytes: {:02x?}",
                bytes.len(),
                &bytes[..bytes.len().min(64)]
            ),
        }
    }
    // Both paths were exercised.
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}
