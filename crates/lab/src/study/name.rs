//! The studies, by name.

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyName {
    /// MLP [1, 16, 32, 1] fitting sin x: LeakyReLU vs sigmoid.
    Sine,
    /// MLP with sigmoid vs LeakyReLU.
    Activation,
    /// MLP hidden layers (256,128), (128,128), (512,128), (256).
    Width,
    /// MLP with batch size 64 vs 256.
    Batch,
    /// MLP with dropout 0 vs 0.1.
    Dropout,
    /// Ink = 1 vs the raw white = 1 input.
    Invert,
    /// Plain vs residual CNN.
    Cnn,
    /// cnn_bn vs cnn_dropout vs cnn_bn_dropout, with the variance shift.
    Regularise,
    /// The main job's recipe: each ingredient (normalisation, augmentation, label smoothing, test-time shifts, ensembles) on and off.
    Recipe,
    /// Every study, in this order.
    All,
}

impl StudyName {
    pub const EACH: [StudyName; 9] = [
        StudyName::Sine,
        StudyName::Activation,
        StudyName::Width,
        StudyName::Batch,
        StudyName::Dropout,
        StudyName::Invert,
        StudyName::Cnn,
        StudyName::Regularise,
        StudyName::Recipe,
    ];

    pub fn folder(self) -> &'static str {
        match self {
            StudyName::Sine => "sine",
            StudyName::Activation => "activation",
            StudyName::Width => "width",
            StudyName::Batch => "batch",
            StudyName::Dropout => "dropout",
            StudyName::Invert => "invert",
            StudyName::Cnn => "cnn",
            StudyName::Regularise => "regularise",
            StudyName::Recipe => "recipe",
            StudyName::All => "all",
        }
    }
}
