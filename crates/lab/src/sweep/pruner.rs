//! When a trial stops early: after each epoch, its validation accuracy so
//! far against the other trials' at the same epoch.

/// How trailing trials are stopped.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PrunerKind {
    /// Below the median of the other trials at the same epoch (Optuna's default).
    Median,
    /// Successive halving: at epochs 1, 3, 9, … only the best third goes on.
    Halving,
    /// Every trial trains all its epochs.
    None,
}

/// Trials that must have reached an epoch before it prunes anyone.
const STARTUP: usize = 3;
/// Successive halving's rate: a third goes on at each rung.
const ETA: usize = 3;

impl PrunerKind {
    /// Why the trial whose validation accuracies (%) per epoch are `own`
    /// should stop, beside the other trials' curves; `None`: it goes on.
    pub fn prune(self, own: &[f64], others: &[Vec<f64>]) -> Option<String> {
        let epoch = own.len();
        let best = |curve: &[f64]| curve.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mine = best(own);
        // Each other trial's best accuracy within the same number of epochs.
        let mut peers: Vec<f64> = others
            .iter()
            .filter(|c| c.len() >= epoch && epoch > 0)
            .map(|c| best(&c[..epoch]))
            .collect();
        peers.sort_by(f64::total_cmp);
        match self {
            PrunerKind::None => None,
            _ if epoch == 0 || peers.len() < STARTUP => None,
            PrunerKind::Median => {
                let median = median(&peers);
                (mine < median).then(|| {
                    format!("{mine:.2}% after epoch {epoch}, below the median {median:.2}% of {} trials there", peers.len())
                })
            }
            PrunerKind::Halving => {
                if !is_rung(epoch) {
                    return None;
                }
                let reached = peers.len() + 1;
                let keep = reached.div_ceil(ETA);
                let better = peers.iter().filter(|&&p| p > mine).count();
                (better >= keep).then(|| {
                    format!("{mine:.2}% after epoch {epoch}, not in the best {keep} of {reached} trials there (successive halving)")
                })
            }
        }
    }
}

/// Whether `epoch` is a rung of successive halving: 1, 3, 9, 27, …
fn is_rung(epoch: usize) -> bool {
    let mut rung = 1;
    while rung < epoch {
        rung *= ETA;
    }
    rung == epoch
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n % 2 {
        1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_pruner_stops_a_trial_below_the_others() {
        let others = vec![vec![90.0, 95.0], vec![80.0, 96.0], vec![85.0, 94.0]];
        assert!(PrunerKind::Median.prune(&[84.0], &others).is_some());
        assert!(PrunerKind::Median.prune(&[86.0], &others).is_none());
        // Too few trials there yet: nobody is pruned.
        assert!(PrunerKind::Median.prune(&[10.0], &others[..2]).is_none());
        assert!(PrunerKind::None.prune(&[10.0], &others).is_none());
    }

    #[test]
    fn successive_halving_keeps_the_best_third_at_each_rung() {
        let others = vec![vec![90.0], vec![91.0], vec![92.0], vec![93.0], vec![94.0]];
        // Six trials reached epoch 1: the best two go on.
        assert!(PrunerKind::Halving.prune(&[95.0], &others).is_none());
        assert!(PrunerKind::Halving.prune(&[93.5], &others).is_none());
        assert!(PrunerKind::Halving.prune(&[92.5], &others).is_some());
        assert!((1..=30).filter(|&e| is_rung(e)).eq([1, 3, 9, 27]));
    }
}
