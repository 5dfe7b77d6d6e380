//! The reader as JavaScript sees it (`new Reader(manifest, weights)`,
//! `reader.read(bytes)`, `reader.model()`): strings of JSON in and out, and
//! errors as exceptions carrying the one-line message.

use wasm_bindgen::prelude::*;

use crate::{Manifest, reader};

#[wasm_bindgen]
pub struct Reader(reader::Reader);

#[wasm_bindgen]
impl Reader {
    /// `manifest`: the text of `manifest.json`; `weights`: the bytes of `model.bpk`.
    #[wasm_bindgen(constructor)]
    pub fn new(manifest: &str, weights: Vec<u8>) -> Result<Reader, JsError> {
        let manifest = Manifest::parse(manifest).map_err(|e| JsError::new(&e))?;
        reader::Reader::new(manifest, weights)
            .map(Reader)
            .map_err(|e| JsError::new(&e))
    }

    /// The answer to a PNG or BMP picture, as JSON.
    pub fn read(&self, picture: &[u8]) -> Result<String, JsError> {
        let answer = self.0.read(picture).map_err(|e| JsError::new(&e))?;
        serde_json::to_string(&answer).map_err(|e| JsError::new(&e.to_string()))
    }

    /// What the page shows about the run, as JSON.
    pub fn model(&self) -> String {
        self.0.manifest().model.to_string()
    }
}
