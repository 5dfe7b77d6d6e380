//! What studies 2–8 train: each study's settings, what the course report
//! claimed, and which finding compares them.

use dataset::{AugmentConfig, AugmentScheme, PixelConvention};
use hanzi12::recipe::{OptimizerKind, Recipe, Schedule};
use models::{Activation, ModelConfig, ModelOptions};

use super::budget::Budget;
use super::findings;
use super::name::StudyName;
use super::outcome::{Outcome, Variant};
use super::recipe;

/// A hanzi12 study: what it varies and what the report claimed.
pub struct Design {
    pub title: &'static str,
    pub variants: Vec<Variant>,
    pub claim: &'static str,
    pub compare: fn(&[Outcome]) -> String,
}

/// The report's BP network as a Burn MLP: 784 → hidden → 12, trained like
/// the report's numpy code with plain mini-batch SGD at a fixed rate on the
/// four augmented views of every image, on the raw 28x28 boxes.
fn mlp(budget: &Budget, hidden: &[usize], activation: Activation, dropout: f64) -> Recipe {
    let options = ModelOptions {
        hidden: Some(hidden.to_vec()),
        activation: Some(activation),
        dropout: Some(dropout),
    };
    let model = ModelConfig::from_name("mlp", &options).expect("the studies' MLPs are valid");
    Recipe {
        epochs: budget.mlp_epochs,
        batch_size: 64,
        optimizer: OptimizerKind::Sgd,
        momentum: 0.0,
        lr: 0.05,
        schedule: Schedule::Constant,
        augment: AugmentConfig::new().with_scheme(AugmentScheme::Views4),
        normalise: None,
        ..Recipe::new(model, budget.data.clone())
    }
}

/// The baseline every MLP study changes one thing of.
fn base_mlp(budget: &Budget) -> Recipe {
    mlp(budget, &[256, 128], Activation::LeakyRelu, 0.0)
}

/// A CNN of the report, trained as the main job trains (Adam, cosine decay)
/// with one random augmented view of each image per epoch, on the raw
/// 28x28 boxes as the course trained them.
fn cnn(budget: &Budget, name: &str) -> Recipe {
    let model = ModelConfig::from_name(name, &ModelOptions::default()).expect("a known CNN");
    Recipe {
        epochs: budget.cnn_epochs,
        augment: AugmentConfig::new().with_scheme(AugmentScheme::Random),
        normalise: None,
        ..Recipe::new(model, budget.data.clone())
    }
}

pub fn design(name: StudyName, budget: &Budget) -> Design {
    let b = budget;
    let leaky = Activation::LeakyRelu;
    match name {
        StudyName::Activation => Design {
            title: "Activation: sigmoid vs LeakyReLU (MLP)",
            variants: vec![
                Variant::new("sigmoid", mlp(b, &[256, 128], Activation::Sigmoid, 0.0)),
                Variant::new("LeakyReLU", base_mlp(b)),
            ],
            claim: "With LeakyReLU accuracy rises faster and converges higher than with sigmoid, \
                    whose small derivative away from zero slows learning.",
            compare: findings::activation,
        },
        StudyName::Width => Design {
            title: "Width and depth (MLP)",
            variants: vec![
                Variant::new("(256, 128)", base_mlp(b)),
                Variant::new("(128, 128)", mlp(b, &[128, 128], leaky, 0.0)),
                Variant::new("(512, 128)", mlp(b, &[512, 128], leaky, 0.0)),
                Variant::new("(256)", mlp(b, &[256], leaky, 0.0)),
            ],
            claim: "Wider networks converge faster and the narrow one fluctuates late, but all three \
                    two-layer networks end well; one hidden layer of 256 converges smoothly and faster \
                    than two layers.",
            compare: findings::width,
        },
        StudyName::Batch => Design {
            title: "Batch size 64 vs 256 (MLP)",
            variants: vec![
                Variant::new("batch 64", base_mlp(b)),
                Variant::new(
                    "batch 256",
                    Recipe {
                        batch_size: 256,
                        ..base_mlp(b)
                    },
                ),
            ],
            claim: "Batch 256 trains less efficiently than 64 and its accuracy fluctuates more.",
            compare: findings::batch,
        },
        StudyName::Dropout => Design {
            title: "Dropout 0 vs 0.1 (MLP)",
            variants: vec![
                Variant::new("no dropout", base_mlp(b)),
                Variant::new("dropout 0.1", mlp(b, &[256, 128], leaky, 0.1)),
            ],
            claim: "With dropout 0.1 training fluctuates, but accuracy rises faster and ends higher.",
            compare: findings::dropout,
        },
        StudyName::Invert => Design {
            title: "Input convention: ink = 1 vs white = 1 (MLP)",
            variants: vec![
                Variant::new("ink = 1", base_mlp(b)),
                Variant::new(
                    "white = 1 (raw)",
                    Recipe {
                        convention: PixelConvention::Raw,
                        ..base_mlp(b)
                    },
                ),
            ],
            claim: "Inverting the input so that ink is 1 and paper 0 trains much better: the network \
                    should attend to the strokes, not to the background.",
            compare: findings::invert,
        },
        StudyName::Cnn => Design {
            title: "Plain vs residual CNN",
            variants: vec![
                Variant::new("cnn", cnn(b, "cnn")),
                Variant::new("cnn_res", cnn(b, "cnn_res")),
            ],
            claim: "The residual CNN (a 1x1 shortcut with BatchNorm around the two convolutions) \
                    performs better than the plain CNN.",
            compare: findings::cnn,
        },
        StudyName::Regularise => Design {
            title: "BatchNorm, dropout, and both (variance shift)",
            variants: vec![
                Variant::new("cnn_bn", cnn(b, "cnn_bn")),
                Variant::new("cnn_dropout", cnn(b, "cnn_dropout")),
                Variant::new("cnn_bn_dropout", cnn(b, "cnn_bn_dropout")),
            ],
            claim: "BatchNorm and dropout each help, but together the network does worse. Li et al. \
                    (CVPR 2019) explain it: dropout changes the variance of what the next BatchNorm \
                    sees between training and evaluation, while evaluation normalises with the variance \
                    stored in training, and the shift grows as training goes on.",
            compare: findings::regularise,
        },
        StudyName::Recipe => Design {
            title: "The recipe: normalisation, augmentation, label smoothing, test-time shifts, ensembles (cnn_res)",
            variants: recipe::variants(b),
            claim: recipe::CLAIM,
            compare: recipe::compare,
        },
        StudyName::Sine | StudyName::All => unreachable!("not a hanzi12 study"),
    }
}
