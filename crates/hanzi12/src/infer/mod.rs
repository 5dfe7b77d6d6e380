//! Using a saved run: loading it ([`Trained`]), several runs answering as
//! one ([`Ensemble`]), `predict` on image files, `eval` on a labelled set
//! with its figures, and inference speed.

mod ensemble;
mod evaluation;
mod figures;
mod images;
mod predict;
mod throughput;
mod trained;

pub use ensemble::{Ensemble, Probabilities, Views};
pub use evaluation::{Evaluation, evaluate};
pub use figures::save_png;
pub use images::{image_paths, read_items, unlabelled};
pub use predict::predict;
pub use throughput::{INFER_BATCH, infer_throughput, inference_figures, random_images};
pub use trained::Trained;
