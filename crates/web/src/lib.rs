//! A trained Hanzi12 network reading handwriting inside a web browser.
//!
//! `trainer export --web` puts this crate, compiled to WebAssembly, in a
//! static site beside a run's weights and a [`Manifest`]; the page's
//! `reader.js` hands it the pictures the page would otherwise send to
//! `trainer serve`. A picture becomes the network's input by the same code
//! as the server's (`dataset::network_input`: crop to ink, scale, centre by
//! mass), and the networks are the `models` crate's, through Burn's own
//! layers on its `flex` CPU backend, so a reading here is the server's to
//! float rounding.
//!
//! [`Reader`] is the reader in Rust (tested natively); `bindings` is its face
//! to JavaScript.

mod answer;
mod bindings;
mod manifest;
mod reader;

pub use answer::{Answer, ClassProbability, InputView};
pub use manifest::{MANIFEST_VERSION, Manifest};
pub use reader::Reader;
