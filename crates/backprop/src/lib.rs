//! Hand-written backpropagation for the Hanzi12 study — no autodiff, no Burn.
//!
//! The course report derived a general backward recursion for a fully
//! connected network and the backward passes of strided convolution and max
//! pooling; this crate implements them on [`ndarray`] arrays:
//!
//! * [`activation`]: sigmoid, LeakyReLU (slope 0.01), ReLU, tanh and their
//!   derivatives; [`dropout`]: inverted, seeded dropout;
//! * [`dense`]: `Z = A Wᵀ + β` with the report's weight, bias and delta formulas;
//! * [`conv`]: strided, padded convolution by im2col + matrix product, input
//!   gradient by the dilated output gradient convolved with the 180°-rotated
//!   kernel; [`pool`]: max pooling with its record; [`flatten`];
//! * [`loss`]: softmax + cross-entropy and MSE; [`optim`]: SGD with momentum;
//! * [`mlp`] and [`cnn`]: the two networks; [`gradcheck`]: finite differences.
//!
//! Everything is generic over [`Float`] (`f32` to train, `f64` to check
//! gradients). Batches are rows (`(N, features)`) or `(N, C, H, W)`.

pub mod activation;
pub mod cnn;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod flatten;
pub mod float;
pub mod gradcheck;
pub mod init;
pub mod loss;
pub mod mlp;
pub mod optim;
pub mod pool;

/// The array crate the public API is written in, for callers that do not
/// depend on it themselves.
pub use ndarray;

pub use activation::Activation;
pub use cnn::{Cnn, CnnConfig, CnnGrads, CnnTrace};
pub use conv::{Conv2d, Conv2dCache, Conv2dGrads};
pub use dense::{Dense, DenseGrads};
pub use dropout::Dropout;
pub use float::Float;
pub use init::Init;
pub use mlp::{Mlp, MlpConfig, MlpGrads, MlpTrace};
pub use optim::{Parameters, Sgd};
pub use pool::{MaxPool2d, MaxPoolRecord};
