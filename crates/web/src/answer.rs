//! A reading as the page shows it: the shape of `trainer serve`'s
//! `/api/predict` answer (which adds its timings) and of the WebAssembly
//! reader's, one type for both.

use dataset::{CHARACTERS, NUM_CLASSES, NetworkInput};
use serde::Serialize;

/// One class's probability.
#[derive(Clone, Debug, Serialize)]
pub struct ClassProbability {
    pub character: char,
    /// The course's folder number, 1..=12.
    pub folder: usize,
    pub probability: f32,
}

/// The 28x28 image the network saw.
#[derive(Clone, Debug, Serialize)]
pub struct InputView {
    /// The picture's own size.
    pub width: usize,
    pub height: usize,
    /// Cropped, scaled and centred (any size but 28x28), or taken as it is.
    pub normalised: bool,
    /// 784 values, row-major, ink = 1.
    pub pixels: Vec<f32>,
}

/// A reading, less its timings.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub model: String,
    /// All twelve classes, most probable first.
    pub classes: Vec<ClassProbability>,
    pub input: InputView,
}

impl Answer {
    /// The answer of network `model` to `input`: its twelve `probabilities`
    /// (class order), most probable first.
    pub fn new(model: &str, probabilities: &[f32; NUM_CLASSES], input: NetworkInput) -> Answer {
        let mut classes: Vec<ClassProbability> = (0..NUM_CLASSES)
            .map(|k| ClassProbability {
                character: CHARACTERS[k],
                folder: k + 1,
                probability: probabilities[k],
            })
            .collect();
        classes.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        Answer {
            model: model.to_string(),
            classes,
            input: InputView {
                width: input.width,
                height: input.height,
                normalised: input.normalised,
                pixels: input.image,
            },
        }
    }
}
