//! Which settings a new trial tries, from the trials so far: TPE (the
//! `tpe` crate's univariate Tree-structured Parzen Estimator, one per
//! setting, as Optuna's default sampler), random, or a grid.

use anyhow::{Result, anyhow};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::Value;

use super::space::{Domain, Point, Space};

/// How new trials are chosen.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    Tpe,
    Random,
    /// Every combination of the choices (numbers: low, middle, high), in order.
    Grid,
}

/// Trials TPE draws at random before it models the objective.
const STARTUP: usize = 5;

/// A trial that has an objective: its settings and how bad it was (lower
/// is better: minus the accuracy, the loss breaking ties; pruned trials
/// count as worse than every finished one).
pub struct Scored<'a> {
    pub point: &'a Point,
    pub badness: f64,
}

impl SamplerKind {
    /// The settings of trial `number` (from 0); each draw is seeded by the
    /// sweep's seed and the trial number, so a sweep is repeatable.
    pub fn next(self, space: &Space, scored: &[Scored], seed: u64, number: usize) -> Result<Point> {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (number as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        match self {
            SamplerKind::Grid => Ok(grid_point(space, number)),
            SamplerKind::Random => Ok(space
                .0
                .iter()
                .map(|s| (s.name.clone(), random(&s.domain, &mut rng)))
                .collect()),
            SamplerKind::Tpe if scored.len() < STARTUP => {
                SamplerKind::Random.next(space, scored, seed, number)
            }
            SamplerKind::Tpe => space
                .0
                .iter()
                .map(|s| Ok((s.name.clone(), tpe(&s.name, &s.domain, scored, &mut rng)?)))
                .collect(),
        }
    }

    /// How many trials this sampler can give (a grid has its size).
    pub fn capacity(self, space: &Space) -> Option<usize> {
        match self {
            SamplerKind::Grid => Some(
                space
                    .0
                    .iter()
                    .map(|s| grid_values(&s.domain).len())
                    .product(),
            ),
            _ => None,
        }
    }
}

fn random(domain: &Domain, rng: &mut StdRng) -> Value {
    match domain {
        Domain::Log(low, high) => (low.ln() + rng.random::<f64>() * (high.ln() - low.ln()))
            .exp()
            .into(),
        Domain::Float(low, high) => (low + rng.random::<f64>() * (high - low)).into(),
        Domain::Int(low, high) => rng.random_range(*low..=*high).into(),
        Domain::Choice(values) => values[rng.random_range(0..values.len())].clone(),
    }
}

/// One setting's next value by TPE, told every scored trial's value of it.
fn tpe(name: &str, domain: &Domain, scored: &[Scored], rng: &mut StdRng) -> Result<Value> {
    let fail = |e: &dyn std::fmt::Display| anyhow!("TPE for {name}: {e}");
    let (estimator, range) = match domain {
        Domain::Log(low, high) => (tpe::parzen_estimator(), tpe::range(low.ln(), high.ln())),
        Domain::Float(low, high) => (tpe::parzen_estimator(), tpe::range(*low, *high)),
        Domain::Int(low, high) => (
            tpe::parzen_estimator(),
            tpe::range(*low as f64 - 0.5, *high as f64 + 0.5),
        ),
        Domain::Choice(values) => (
            tpe::histogram_estimator(),
            tpe::categorical_range(values.len()),
        ),
    };
    let mut optimizer = tpe::TpeOptimizer::new(estimator, range.map_err(|e| fail(&e))?);
    for trial in scored {
        let Some(value) = trial.point.get(name) else {
            continue;
        };
        let x = match domain {
            Domain::Log(..) => value.as_f64().map(f64::ln),
            Domain::Float(..) | Domain::Int(..) => value.as_f64(),
            Domain::Choice(values) => values.iter().position(|v| v == value).map(|i| i as f64),
        };
        if let Some(x) = x {
            optimizer.tell(x, trial.badness).map_err(|e| fail(&e))?;
        }
    }
    let x = optimizer.ask(rng).map_err(|e| fail(&e))?;
    Ok(match domain {
        Domain::Log(..) => x.exp().into(),
        Domain::Float(..) => x.into(),
        Domain::Int(low, high) => (x.round() as i64).clamp(*low, *high).into(),
        Domain::Choice(values) => values[(x as usize).min(values.len() - 1)].clone(),
    })
}

/// The values a grid takes of a domain.
fn grid_values(domain: &Domain) -> Vec<Value> {
    match domain {
        Domain::Log(low, high) => vec![(*low).into(), (low * high).sqrt().into(), (*high).into()],
        Domain::Float(low, high) => {
            vec![(*low).into(), ((low + high) / 2.0).into(), (*high).into()]
        }
        Domain::Int(low, high) if high - low < 3 => (*low..=*high).map(Value::from).collect(),
        Domain::Int(low, high) => vec![(*low).into(), ((low + high) / 2).into(), (*high).into()],
        Domain::Choice(values) => values.clone(),
    }
}

/// Combination `number` of the grid, the last setting changing fastest.
fn grid_point(space: &Space, number: usize) -> Point {
    let mut rest = number;
    let mut point = Point::new();
    for setting in space.0.iter().rev() {
        let values = grid_values(&setting.domain);
        point.insert(setting.name.clone(), values[rest % values.len()].clone());
        rest /= values.len();
    }
    point
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::space::Setting;

    fn space() -> Space {
        let words = ["lr=log:1e-4:1e-1", "batch_size=choice:32,64,128"].map(String::from);
        Space::from_flags(&words, None).unwrap()
    }

    #[test]
    fn draws_stay_in_their_domains_and_repeat_with_the_seed() {
        for kind in [SamplerKind::Random, SamplerKind::Tpe] {
            let a = kind.next(&space(), &[], 7, 3).unwrap();
            assert_eq!(a, kind.next(&space(), &[], 7, 3).unwrap());
            let lr = a["lr"].as_f64().unwrap();
            assert!((1e-4..=1e-1).contains(&lr), "{lr}");
            assert!([32, 64, 128].contains(&a["batch_size"].as_i64().unwrap()));
        }
    }

    /// TPE, told that small learning rates do well, proposes small ones.
    #[test]
    fn tpe_follows_the_objective() {
        let space = space();
        let points: Vec<Point> = (0..30)
            .map(|n| SamplerKind::Random.next(&space, &[], 1, n).unwrap())
            .collect();
        let scored: Vec<Scored> = points
            .iter()
            .map(|p| Scored {
                point: p,
                badness: p["lr"].as_f64().unwrap().ln(),
            })
            .collect();
        let proposed: Vec<f64> = (30..50)
            .map(|n| {
                SamplerKind::Tpe.next(&space, &scored, 1, n).unwrap()["lr"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        let below = proposed.iter().filter(|&&lr| lr < 1e-3).count();
        assert!(below >= 15, "{proposed:?}");
    }

    #[test]
    fn a_grid_visits_every_combination_once() {
        let space = Space(vec![
            Setting::parse("a=choice:1,2").unwrap(),
            Setting::parse("b=int:0:2").unwrap(),
        ]);
        assert_eq!(SamplerKind::Grid.capacity(&space), Some(6));
        let mut seen: Vec<String> = (0..6)
            .map(|n| {
                serde_json::to_string(&SamplerKind::Grid.next(&space, &[], 0, n).unwrap()).unwrap()
            })
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 6);
    }
}
