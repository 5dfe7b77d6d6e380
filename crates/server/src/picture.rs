//! What a client may send to `/api/predict`, checked in the order a person
//! would look for the mistake: the declared type, the bytes' own format,
//! the picture's size, then the pixels. Each refusal names what was wrong.

use axum::http::{HeaderMap, StatusCode, header};
use dataset::{NetworkInput, NormaliseConfig, network_input};
use image::{ImageFormat, ImageReader};
use std::io::Cursor;

use crate::error::ApiError;

/// Largest side of a picture the server decodes: a drawing needs far less,
/// and a PNG of 20000x20000 blank pixels is tiny on the wire but would take
/// gigabytes to decode.
pub const MAX_SIDE: u32 = 2048;

/// The picture formats the server reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Png,
    Bmp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Png => "PNG",
            Kind::Bmp => "BMP",
        }
    }
}

const ACCEPTED: &str = "send Content-Type: image/png or image/bmp";

/// The format the `Content-Type` header declares.
pub fn declared_kind(headers: &HeaderMap) -> Result<Kind, ApiError> {
    let unsupported = |message: String| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message);
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported(format!("no Content-Type header: {ACCEPTED}")));
    };
    let text = value.to_str().unwrap_or("").to_ascii_lowercase();
    let mime = text.split(';').next().unwrap_or("").trim();
    match mime {
        "image/png" => Ok(Kind::Png),
        "image/bmp" | "image/x-bmp" | "image/x-ms-bmp" => Ok(Kind::Bmp),
        _ => Err(unsupported(format!(
            "Content-Type {:?} is not accepted: {ACCEPTED}",
            String::from_utf8_lossy(value.as_bytes())
        ))),
    }
}

/// Pictures of at most this many pixels are decoded where the request is
/// handled; a 28x28 image takes tens of microseconds.
const SMALL_PIXELS: u64 = 128 * 128;

/// A picture whose header was read and accepted: its format and size.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    kind: Kind,
    width: u32,
    height: u32,
}

impl Header {
    /// Small enough to decode on the thread that handles the request.
    pub fn is_small(self) -> bool {
        u64::from(self.width) * u64::from(self.height) <= SMALL_PIXELS
    }
}

/// Checks the bytes against the declared format and the size limit, reading
/// only the header.
pub fn check_picture(bytes: &[u8], declared: Kind) -> Result<Header, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty body: send the bytes of a PNG or BMP image",
        ));
    }
    let kind = sniff(bytes)?;
    if kind != declared {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type says {} but the body is a {} image",
                declared.name(),
                kind.name()
            ),
        ));
    }
    let format = match kind {
        Kind::Png => ImageFormat::Png,
        Kind::Bmp => ImageFormat::Bmp,
    };
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the {} header: {e}", kind.name()),
            )
        })?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("image is {width}x{height} pixels: at most {MAX_SIDE}x{MAX_SIDE} is accepted"),
        ));
    }
    Ok(Header {
        kind,
        width,
        height,
    })
}

/// Turns a checked picture into the input of a network trained with `run`'s
/// normalisation, as `predict` does.
pub fn decode_picture(
    bytes: &[u8],
    header: Header,
    run: Option<&NormaliseConfig>,
) -> Result<NetworkInput, ApiError> {
    let Header {
        kind,
        width,
        height,
    } = header;
    network_input(bytes, run).map_err(|reason| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "cannot decode the {} image ({width}x{height}): {reason} (truncated or damaged?)",
                kind.name()
            ),
        )
    })
}

/// The format the bytes themselves have, from their first bytes.
fn sniff(bytes: &[u8]) -> Result<Kind, ApiError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok(Kind::Png),
        Ok(ImageFormat::Bmp) => Ok(Kind::Bmp),
        Ok(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "the body is a {} image: only PNG and BMP are read",
                other
                    .extensions_str()
                    .first()
                    .unwrap_or(&"?")
                    .to_uppercase()
            ),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body is not an image: send the bytes of a PNG or BMP file",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        testdata::png(image::GrayImage::from_pixel(
            width,
            height,
            image::Luma([255]),
        ))
    }

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    /// What a request's body becomes: [`check_picture`], then [`decode_picture`].
    fn read_picture(
        bytes: &[u8],
        declared: Kind,
        run: Option<&NormaliseConfig>,
    ) -> Result<NetworkInput, ApiError> {
        decode_picture(bytes, check_picture(bytes, declared)?, run)
    }

    fn refusal(result: Result<NetworkInput, ApiError>) -> (u16, String) {
        let e = result.unwrap_err();
        (e.status.as_u16(), e.message)
    }

    #[test]
    fn only_small_pictures_are_small() {
        let small = |bytes: &[u8]| check_picture(bytes, Kind::Png).unwrap().is_small();
        assert!(small(&png(28, 28)));
        assert!(small(&png(128, 128)));
        assert!(!small(&png(129, 128)));
        assert!(!small(&png(MAX_SIDE, MAX_SIDE)));
    }

    #[test]
    fn content_types_are_checked() {
        assert_eq!(declared_kind(&headers("image/png")).unwrap(), Kind::Png);
        assert_eq!(
            declared_kind(&headers("Image/BMP; charset=x")).unwrap(),
            Kind::Bmp
        );
        let e = declared_kind(&headers("image/jpeg")).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(e.message.contains("image/jpeg"), "{}", e.message);
        assert!(declared_kind(&HeaderMap::new()).is_err());
    }

    #[test]
    fn each_bad_body_is_refused_with_its_reason() {
        let (status, message) = refusal(read_picture(b"", Kind::Png, None));
        assert_eq!((status, message.contains("empty")), (400, true));
        let (status, message) = refusal(read_picture(b"hello there", Kind::Png, None));
        assert_eq!((status, message.contains("not an image")), (400, true));
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
        let (status, message) = refusal(read_picture(&jpeg, Kind::Png, None));
        assert_eq!((status, message.contains("JPG")), (415, true), "{message}");
        let whole = png(40, 40);
        let (status, message) = refusal(read_picture(&whole[..whole.len() - 20], Kind::Png, None));
        assert_eq!(
            (status, message.contains("truncated")),
            (400, true),
            "{message}"
        );
        let (status, message) = refusal(read_picture(
            &testdata::hostile::huge_png(20_000),
            Kind::Png,
            None,
        ));
        assert_eq!((status, message.contains("20000x20000")), (422, true));
        let (status, message) = refusal(read_picture(&whole, Kind::Bmp, None));
        assert_eq!((status, message.contains("says BMP")), (415, true));
    }

    #[test]
    fn a_good_picture_becomes_an_input() {
        let input = read_picture(&png(28, 28), Kind::Png, None).unwrap();
        assert_eq!(input.image.len(), dataset::PIXELS);
        assert!(!input.normalised);
    }
}
