//! The settings as files: a run folder's `config.json` (the recipe and the
//! execution it last ran with) and a recipe file (the recipe alone), one
//! format with a version. Files of an older format are read through
//! [`upgrade`], the one place that knows them.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

use super::{Execution, Recipe};

/// The format this trainer writes. 1: the flat `TrainConfig` of runs saved
/// before 2026-12-06 (no `format` field); 2: `{format, recipe, execution}`.
pub const FORMAT: u64 = 2;

/// A run's settings: what it trains and where it last ran.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub recipe: Recipe,
    pub execution: Execution,
}

/// The file's layout: `execution` is absent from a recipe file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    format: u64,
    recipe: Recipe,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<Execution>,
}

impl RunSettings {
    /// Refuses settings that cannot train, naming the flag.
    pub fn check(&self) -> Result<()> {
        self.recipe.check()?;
        self.execution.check(self.recipe.batch_size)
    }

    /// A run folder's `config.json`, of this format or an older one.
    pub fn read(path: &Path) -> Result<RunSettings> {
        let file = read_file(path)?;
        let execution = file.execution.with_context(|| {
            format!(
                "{}: a recipe file, not a run's config.json (no \"execution\")",
                path.display()
            )
        })?;
        Ok(RunSettings {
            recipe: file.recipe,
            execution,
        })
    }

    /// The text of `config.json`.
    pub fn to_json(&self) -> String {
        to_json(&SettingsFile {
            format: FORMAT,
            recipe: self.recipe.clone(),
            execution: Some(self.execution.clone()),
        })
    }
}

impl Recipe {
    /// The recipe of a recipe file, or of a run's `config.json` (any format).
    pub fn read(path: &Path) -> Result<Recipe> {
        Ok(read_file(path)?.recipe)
    }

    /// The text of a recipe file.
    pub fn to_json(&self) -> String {
        to_json(&SettingsFile {
            format: FORMAT,
            recipe: self.clone(),
            execution: None,
        })
    }
}

fn to_json(file: &SettingsFile) -> String {
    serde_json::to_string_pretty(file).expect("settings serialise") + "\n"
}

/// A settings file of any format, upgraded to this one; every error names
/// the file.
fn read_file(path: &Path) -> Result<SettingsFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} (is this a run folder?)", path.display()))?;
    parse(&text).with_context(|| format!("{}: not a valid recipe or run config", path.display()))
}

fn parse(text: &str) -> Result<SettingsFile> {
    let value: Value = serde_json::from_str(text)?;
    let file = serde_json::from_value(upgrade(value)?)?;
    Ok(file)
}

/// `value` in this trainer's format. Format 1 was `TrainConfig` flat, and
/// before 2026-11 without `devices` (one device).
fn upgrade(value: Value) -> Result<Value> {
    let Value::Object(mut fields) = value else {
        bail!("expected a JSON object");
    };
    match fields.get("format") {
        Some(format) if format.as_u64() == Some(FORMAT) => return Ok(Value::Object(fields)),
        Some(format) => bail!(
            "format {format}: this trainer reads formats 1 to {FORMAT} (written by a newer trainer?)"
        ),
        None => {}
    }
    let mut take = |name: &str| fields.remove(name);
    let execution = serde_json::json!({
        "backend": take("backend").unwrap_or("flex".into()),
        "devices": take("devices").unwrap_or(1.into()),
        "workers": take("workers").unwrap_or(1.into()),
        "keep_every_epoch": false,
    });
    Ok(serde_json::json!({
        "format": FORMAT,
        "recipe": Value::Object(fields),
        "execution": execution,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;

    /// A `config.json` as the trainer of 2026-12-06 (format 1) wrote it.
    const FORMAT_1: &str = include_str!("../../../trainer/tests/fixtures/run-v1/config.json");

    #[test]
    fn format_1_loads_as_its_recipe_and_execution() {
        let settings = parse(FORMAT_1).unwrap();
        let execution = settings.execution.unwrap();
        assert_eq!(execution, Execution::default());
        let recipe = settings.recipe;
        assert_eq!((recipe.epochs, recipe.model.name()), (2, "mlp"));
        // Written again, and read again: the same settings.
        let again = RunSettings {
            recipe: recipe.clone(),
            execution,
        };
        let back = parse(&again.to_json()).unwrap();
        assert!(back.recipe.differences(&recipe).is_empty());
    }

    #[test]
    fn format_1_before_devices_loads_on_one_device() {
        let mut old: Value = serde_json::from_str(FORMAT_1).unwrap();
        old.as_object_mut().unwrap().remove("devices");
        old["backend"] = "ndarray".into();
        let execution = parse(&old.to_string()).unwrap().execution.unwrap();
        assert_eq!(
            (execution.devices, execution.backend),
            (1, Backend::Ndarray)
        );
    }

    #[test]
    fn other_formats_and_unknown_settings_are_refused() {
        let recipe = Recipe::default();
        let mut value: Value = serde_json::from_str(&recipe.to_json()).unwrap();
        assert!(parse(&value.to_string()).unwrap().execution.is_none());
        value["recipe"]["learning_rate"] = 0.1.into();
        let error = format!("{:#}", parse(&value.to_string()).err().unwrap());
        assert!(error.contains("unknown field `learning_rate`"), "{error}");
        value["format"] = 3.into();
        let error = parse(&value.to_string()).err().unwrap().to_string();
        assert!(
            error.starts_with("format 3: this trainer reads formats 1 to 2"),
            "{error}"
        );
    }
}
