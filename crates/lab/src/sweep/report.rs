//! `trainer sweep NAME --report`: the sweep so far, from its journal and
//! trial folders: the best trials and the command that trains the best
//! again, how much each setting mattered, and the objective by trial
//! (`report.md`, `report.png`).

use anyhow::Result;
use hanzi12::atomic::write_atomic;
use plotters::prelude::SeriesLabelPosition;
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::journal::Progress;
use super::journal::{Ending, Header, Journal, TrialEnd};
use super::space::{Domain, Point, apply};
use super::worker::{describe, short, trial_dir};
use crate::plot::{self, Chart, Line, Panel};
use crate::study::shell_line;

/// An ended trial.
struct Ended {
    trial: usize,
    end: TrialEnd,
    point: Point,
}

/// Writes `report.md` and `report.png` in the sweep's folder; the
/// report's path.
pub fn write(dir: &Path) -> Result<PathBuf> {
    let (header, events) = Journal::at(dir).read()?;
    let Progress { asked, done } = Progress::of(&events);
    let mut ended: Vec<Ended> = done
        .iter()
        .filter_map(|(&trial, &end)| {
            let point = asked.get(&trial)?.clone();
            Some(Ended { trial, end, point })
        })
        .collect();
    ended.sort_by(|a, b| a.end.badness().total_cmp(&b.end.badness()));
    let figure = dir.join("report.png");
    draw(&figure, &header, &ended)?;
    let text = markdown(dir, &header, &ended, asked.len())?;
    let path = dir.join("report.md");
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

fn markdown(dir: &Path, header: &Header, ended: &[Ended], asked: usize) -> Result<String> {
    let finished = ended
        .iter()
        .filter(|t| t.end.ending == Ending::Finished)
        .count();
    let mut text = format!(
        "# Sweep `{}`\n\n{} trials ended ({finished} finished, {} pruned), {} asked in all; sampler {:?}, pruner {:?}, objective: the best validation accuracy of a trial (its loss breaks ties).\n\n",
        header.name,
        ended.len(),
        ended.len() - finished,
        asked,
        header.sampler,
        header.pruner
    );
    text += "## Best trials\n\n| trial | ended | valid acc % | valid loss | at epoch | settings |\n|---|---|---|---|---|---|\n";
    for t in ended.iter().take(10) {
        text += &format!(
            "| {} | {:?} | {:.2} | {:.4} | {} | {} |\n",
            t.trial,
            t.end.ending,
            t.end.accuracy,
            t.end.loss,
            t.end.epoch,
            describe(&t.point)
        );
    }
    if let Some(best) = ended.first().filter(|t| t.end.ending == Ending::Finished) {
        // The recipe is written out: it outlives the trial's folder.
        let config = dir.join("best-recipe.json");
        match apply(&header.base, &best.point) {
            Ok(recipe) => write_atomic(&config, recipe.to_json().as_bytes())?,
            Err(e) => anyhow::bail!("trial {}: {e:#}", best.trial),
        }
        let again = PathBuf::from("artifacts").join(format!("{}-best", header.name));
        let command = shell_line(&[
            "trainer".to_string(),
            "train".to_string(),
            "--recipe".to_string(),
            config.display().to_string(),
            "--artifacts".to_string(),
            again.display().to_string(),
        ]);
        text += &format!(
            "\n## The best recipe, trained again\n\nTrial {} ({}); its recipe is in `best-recipe.json`:\n\n```sh\n{command}\n```\n",
            best.trial,
            trial_dir(dir, best.trial).display()
        );
    }
    text += "\n## What mattered\n\nEach setting's share of the finished trials' spread in accuracy (numbers: |Spearman's ρ| with the accuracy; choices: the share of variance between them).\n\n| setting | importance | best trial's value |\n|---|---|---|\n";
    let finished: Vec<&Ended> = ended
        .iter()
        .filter(|t| t.end.ending == Ending::Finished)
        .collect();
    for (setting, share) in importance(header, &finished) {
        let best = finished
            .first()
            .and_then(|t| t.point.get(&setting))
            .map(short)
            .unwrap_or_default();
        text += &format!("| {setting} | {share:.2} | {best} |\n");
    }
    text += "\n![the objective and each setting by trial](report.png)\n";
    Ok(text)
}

/// Each searched setting's share of importance, largest first.
fn importance(header: &Header, finished: &[&Ended]) -> Vec<(String, f64)> {
    let accuracy: Vec<f64> = finished.iter().map(|t| t.end.accuracy).collect();
    let mut scores: Vec<(String, f64)> = header
        .space
        .0
        .iter()
        .map(|s| {
            let values: Vec<Value> = finished
                .iter()
                .map(|t| t.point.get(&s.name).cloned().unwrap_or(Value::Null))
                .collect();
            let score = match &s.domain {
                Domain::Choice(_) => between_share(&values, &accuracy),
                domain => spearman(
                    &values.iter().map(|v| number(domain, v)).collect::<Vec<_>>(),
                    &accuracy,
                )
                .abs(),
            };
            (s.name.clone(), if score.is_finite() { score } else { 0.0 })
        })
        .collect();
    let total: f64 = scores.iter().map(|s| s.1).sum();
    for score in &mut scores {
        score.1 = if total > 0.0 { score.1 / total } else { 0.0 };
    }
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    scores
}

/// A numeric setting's value as the sampler sees it (log scale where searched so).
fn number(domain: &Domain, value: &Value) -> f64 {
    let x = value.as_f64().unwrap_or(f64::NAN);
    if matches!(domain, Domain::Log(..)) {
        x.ln()
    } else {
        x
    }
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    for (rank, &i) in order.iter().enumerate() {
        ranks[i] = rank as f64;
    }
    ranks
}

fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let mean = (n - 1.0) / 2.0;
    let cov: f64 = rx
        .iter()
        .zip(&ry)
        .map(|(a, b)| (a - mean) * (b - mean))
        .sum();
    let var: f64 = rx.iter().map(|a| (a - mean).powi(2)).sum();
    cov / var
}

/// The share of `y`'s variance between the groups of equal `values`.
fn between_share(values: &[Value], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let mut groups: Vec<(&Value, Vec<f64>)> = Vec::new();
    for (value, &acc) in values.iter().zip(y) {
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, members)) => members.push(acc),
            None => groups.push((value, vec![acc])),
        }
    }
    let between: f64 = groups
        .iter()
        .map(|(_, m)| m.len() as f64 * (m.iter().sum::<f64>() / m.len() as f64 - mean).powi(2))
        .sum();
    between / total
}

/// The objective by trial (each trial, and the best so far), then each
/// numeric setting's value by trial.
fn draw(path: &Path, header: &Header, ended: &[Ended]) -> Result<()> {
    let mut by_trial: Vec<&Ended> = ended.iter().collect();
    by_trial.sort_by_key(|t| t.trial);
    let points = |f: &dyn Fn(&Ended) -> f64| {
        by_trial
            .iter()
            .map(|t| (t.trial as f64, f(t)))
            .collect::<Vec<_>>()
    };
    let mut best = f64::NEG_INFINITY;
    let best_so_far: Vec<(f64, f64)> = by_trial
        .iter()
        .filter(|t| t.end.ending == Ending::Finished)
        .map(|t| {
            best = best.max(t.end.accuracy);
            (t.trial as f64, best)
        })
        .collect();
    let mut panels = vec![Panel {
        title: "validation accuracy % by trial".to_string(),
        lines: vec![
            Line::faint(plot::VALID, points(&|t| t.end.accuracy)),
            Line::new("best so far", plot::TRAIN, best_so_far),
        ],
    }];
    for (i, setting) in header.space.0.iter().enumerate() {
        let mut values = points(&|t| match &setting.domain {
            Domain::Choice(choices) => t
                .point
                .get(&setting.name)
                .and_then(|v| choices.iter().position(|c| c == v))
                .map_or(f64::NAN, |i| i as f64),
            _ => t
                .point
                .get(&setting.name)
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN),
        });
        values.retain(|p| p.1.is_finite());
        let title = match &setting.domain {
            Domain::Choice(c) => format!(
                "{} by trial (0..{}: {})",
                setting.name,
                c.len() - 1,
                c.iter().map(short).collect::<Vec<_>>().join(", ")
            ),
            _ => format!("{} by trial", setting.name),
        };
        panels.push(Panel {
            title,
            lines: vec![Line::new(
                setting.name.clone(),
                plot::PALETTE[i % plot::PALETTE.len()],
                values,
            )],
        });
    }
    let chart = Chart {
        x_label: "trial",
        y_label: "value",
        y_range: None,
        log_y: false,
        columns: 3,
        legend: SeriesLabelPosition::LowerRight,
    };
    plot::draw(path, &chart, &panels)
}
