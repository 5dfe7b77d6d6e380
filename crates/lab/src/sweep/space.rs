//! What a sweep searches: settings of the recipe, each with its domain,
//! written `SETTING=DOMAIN` (`lr=log:1e-4:1e-2`, `batch_size=choice:32,64,128`),
//! on the command line (`--search`) or one per line in a file (`--space`).
//! A setting is named by its path in the recipe file (`model.dropout`,
//! `augment.scheme`), so every recipe setting can be searched.

use anyhow::{Context, Result, bail, ensure};
use hanzi12::Recipe;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One value per searched setting: a trial's settings.
pub type Point = BTreeMap<String, Value>;

/// Where a setting's values come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// A number between the bounds, drawn on a log scale.
    Log(f64, f64),
    /// A number between the bounds.
    Float(f64, f64),
    /// A whole number between the bounds, both included.
    Int(i64, i64),
    /// One of the listed values.
    Choice(Vec<Value>),
}

/// A searched setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub name: String,
    pub domain: Domain,
}

/// The settings a sweep searches, in the order given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Space(pub Vec<Setting>);

impl Space {
    /// The space of `--search` words and the `--space` file's lines; with
    /// neither, [`Space::around_main_job`].
    pub fn from_flags(search: &[String], file: Option<&Path>) -> Result<Space> {
        let mut settings = Vec::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--space {}: cannot read it", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if !line.is_empty() {
                    let setting = Setting::parse(line)
                        .with_context(|| format!("--space {} line {}", path.display(), n + 1))?;
                    settings.push(setting);
                }
            }
            ensure!(
                !settings.is_empty(),
                "--space {}: no settings in it (expected lines SETTING=DOMAIN)",
                path.display()
            );
        }
        for word in search {
            settings.push(Setting::parse(word).with_context(|| format!("--search {word}"))?);
        }
        if settings.is_empty() {
            return Ok(Space::around_main_job());
        }
        for (i, setting) in settings.iter().enumerate() {
            if settings[..i].iter().any(|s| s.name == setting.name) {
                bail!(
                    "{}: searched twice (expected each setting once)",
                    setting.name
                );
            }
        }
        Ok(Space(settings))
    }

    /// A space around the main job's recipe: its learning rate, batch,
    /// label smoothing, weight decay and augmentation.
    pub fn around_main_job() -> Space {
        let choice = |values: Vec<Value>| Domain::Choice(values);
        Space(vec![
            Setting::new("lr", Domain::Log(3e-4, 3e-3)),
            Setting::new("batch_size", choice(vec![32.into(), 64.into(), 128.into()])),
            Setting::new(
                "label_smoothing",
                choice(vec![Value::Null, 0.05.into(), 0.1.into()]),
            ),
            Setting::new(
                "weight_decay",
                choice(vec![0.0.into(), 1e-5.into(), 1e-4.into()]),
            ),
            Setting::new(
                "augment.scheme",
                choice(vec!["random".into(), "handwriting".into()]),
            ),
        ])
    }

    /// Refuses a setting `base` does not have, or a value that does not
    /// make a recipe that trains, naming it.
    pub fn check(&self, base: &Recipe) -> Result<()> {
        let recipe = serde_json::to_value(base)?;
        for setting in &self.0 {
            if pointer(&recipe, &setting.name).is_none() {
                bail!(
                    "{}: the recipe has no such setting (expected one of its paths, as `trainer train --print-recipe` shows them: lr, batch_size, model.dropout, augment.scheme, …)",
                    setting.name
                );
            }
            for value in setting.domain.corners() {
                let point = Point::from([(setting.name.clone(), value.clone())]);
                apply(base, &point).with_context(|| format!("{}={value}", setting.name))?;
            }
        }
        Ok(())
    }
}

impl Setting {
    fn new(name: &str, domain: Domain) -> Setting {
        Setting {
            name: name.to_string(),
            domain,
        }
    }

    /// `SETTING=KIND:…`: `log:LOW:HIGH`, `float:LOW:HIGH`, `int:LOW:HIGH`,
    /// `choice:A,B,C` (JSON values, or words).
    pub fn parse(text: &str) -> Result<Setting> {
        let Some((name, domain)) = text.split_once('=') else {
            bail!("expected SETTING=DOMAIN, e.g. lr=log:1e-4:1e-2");
        };
        let (kind, rest) = domain.split_once(':').unwrap_or((domain, ""));
        let bounds = || -> Result<(f64, f64)> {
            let (low, high) = rest.split_once(':').context("expected LOW:HIGH")?;
            let number = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .with_context(|| format!("{s}: not a number"))
            };
            let (low, high) = (number(low)?, number(high)?);
            ensure!(low < high, "{low}:{high}: expected LOW below HIGH");
            Ok((low, high))
        };
        let domain = match kind.trim() {
            "log" => {
                let (low, high) = bounds()?;
                ensure!(
                    low > 0.0,
                    "log:{low}:{high}: a log scale needs bounds above 0"
                );
                Domain::Log(low, high)
            }
            "float" => {
                let (low, high) = bounds()?;
                Domain::Float(low, high)
            }
            "int" => {
                let (low, high) = bounds()?;
                ensure!(
                    low.fract() == 0.0 && high.fract() == 0.0,
                    "int:{low}:{high}: expected whole numbers"
                );
                Domain::Int(low as i64, high as i64)
            }
            "choice" => {
                let values: Vec<Value> = rest
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(word)
                    .collect();
                ensure!(
                    !values.is_empty(),
                    "choice: expected at least one value, e.g. choice:32,64"
                );
                Domain::Choice(values)
            }
            other => bail!("{other}: expected a domain log:, float:, int: or choice:"),
        };
        Ok(Setting::new(name.trim(), domain))
    }
}

/// A word of a choice as a JSON value: a number, `null`, `true`, or a string.
fn word(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

impl Domain {
    /// The values at its edges, to check before anything trains.
    fn corners(&self) -> Vec<Value> {
        match self {
            Domain::Log(low, high) | Domain::Float(low, high) => {
                vec![(*low).into(), (*high).into()]
            }
            Domain::Int(low, high) => vec![(*low).into(), (*high).into()],
            Domain::Choice(values) => values.clone(),
        }
    }
}

/// The setting at a dotted path of a recipe's JSON.
fn pointer<'a>(recipe: &'a Value, path: &str) -> Option<&'a Value> {
    recipe.pointer(&format!("/{}", path.replace('.', "/")))
}

/// `base` with the settings of `point`, checked.
pub fn apply(base: &Recipe, point: &Point) -> Result<Recipe> {
    let mut recipe = serde_json::to_value(base)?;
    for (name, value) in point {
        let path = format!("/{}", name.replace('.', "/"));
        let slot = recipe
            .pointer_mut(&path)
            .with_context(|| format!("{name}: the recipe has no such setting"))?;
        *slot = value.clone();
    }
    let recipe: Recipe =
        serde_json::from_value(recipe).map_err(|e| anyhow::anyhow!("not a recipe: {e}"))?;
    recipe.check()?;
    Ok(recipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_with_their_domains() {
        let parse = |s: &str| Setting::parse(s).unwrap().domain;
        assert_eq!(parse("lr=log:1e-4:1e-2"), Domain::Log(1e-4, 1e-2));
        assert_eq!(parse("patience=int:0:3"), Domain::Int(0, 3));
        assert_eq!(
            parse("augment.scheme=choice:random,views4"),
            Domain::Choice(vec!["random".into(), "views4".into()])
        );
        assert_eq!(
            parse("label_smoothing=choice:null,0.1"),
            Domain::Choice(vec![Value::Null, 0.1.into()])
        );
        for bad in [
            "lr",
            "lr=log:0:1",
            "lr=log:1e-2:1e-4",
            "lr=gauss:1:2",
            "lr=choice:",
            "lr=float:a:1",
        ] {
            assert!(Setting::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_setting_the_recipe_lacks_or_cannot_take_is_refused() {
        let base = Recipe::default();
        Space::around_main_job().check(&base).unwrap();
        let space = |word: &str| Space::from_flags(&[word.to_string()], None).unwrap();
        let error = space("model.dropout=float:0:0.5")
            .check(&base)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("model.dropout: the recipe has no such setting"),
            "{error}"
        );
        let error = format!(
            "{:#}",
            space("batch_size=choice:0,64").check(&base).unwrap_err()
        );
        assert!(error.contains("--batch-size 0"), "{error}");
        let error = format!(
            "{:#}",
            space("augment.scheme=choice:sideways")
                .check(&base)
                .unwrap_err()
        );
        assert!(error.contains("sideways"), "{error}");
    }

    #[test]
    fn a_point_sets_nested_settings() {
        let point = Point::from([
            ("augment.scheme".to_string(), "views4".into()),
            ("lr".to_string(), 0.01.into()),
        ]);
        let recipe = apply(&Recipe::default(), &point).unwrap();
        assert_eq!(recipe.lr, 0.01);
        assert_eq!(recipe.augment.scheme, dataset::AugmentScheme::Views4);
    }
}
