//! Two recipes compared as values: which settings differ, and how.

use serde_json::Value;

use super::Recipe;

/// One setting two recipes disagree on, named by its path in the recipe
/// file (`lr`, `model.dropout`, `augment.scheme`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub setting: String,
    /// In `self` of [`Recipe::differences`] (e.g. the saved run's).
    pub was: String,
    /// In the other recipe (e.g. the one the flags make).
    pub now: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} → {}", self.setting, self.was, self.now)
    }
}

impl Recipe {
    /// Every setting in which `other` differs from this recipe, by name.
    pub fn differences(&self, other: &Recipe) -> Vec<Difference> {
        // Through text: an `f32` setting reads as written (0.1), not widened (0.10000000149…).
        let value = |r: &Recipe| -> Value {
            serde_json::from_str(&serde_json::to_string(r).expect("a recipe serialises"))
                .expect("a recipe's JSON parses")
        };
        let mut found = Vec::new();
        compare("", &value(self), &value(other), &mut found);
        found.sort_by(|a, b| a.setting.cmp(&b.setting));
        found
    }
}

/// The tags that say which kind of thing an object is (`ModelConfig`'s
/// `network`, `DataSource`'s `kind`): objects of two kinds are one
/// difference, not one per field.
const TAGS: [&str; 2] = ["network", "kind"];

fn compare(path: &str, was: &Value, now: &Value, found: &mut Vec<Difference>) {
    if was == now {
        return;
    }
    if let (Value::Object(a), Value::Object(b)) = (was, now)
        && TAGS.iter().all(|tag| a.get(*tag) == b.get(*tag))
    {
        let mut keys: Vec<&String> = a.keys().collect();
        keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
        for key in keys {
            let null = Value::Null;
            let (x, y) = (a.get(key).unwrap_or(&null), b.get(key).unwrap_or(&null));
            let path = match path {
                "" => key.clone(),
                _ => format!("{path}.{key}"),
            };
            compare(&path, x, y, found);
        }
        return;
    }
    found.push(Difference {
        setting: path.to_string(),
        was: shown(was),
        now: shown(now),
    });
}

/// A value as a person reads it: strings without quotes.
fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataset::AugmentScheme;
    use models::{ModelConfig, ModelOptions};

    #[test]
    fn differences_name_each_setting_with_both_values() {
        let a = Recipe::default();
        assert!(a.differences(&a).is_empty());
        let mut b = a.clone();
        b.lr = 0.01;
        b.augment.scheme = AugmentScheme::Views4;
        let shown: Vec<String> = a.differences(&b).iter().map(|d| d.to_string()).collect();
        assert_eq!(shown, ["augment.scheme random → views4", "lr 0.001 → 0.01"]);
        let c = Recipe {
            label_smoothing: Some(0.1),
            ..a.clone()
        };
        assert_eq!(
            a.differences(&c)[0].to_string(),
            "label_smoothing null → 0.1"
        );
    }

    #[test]
    fn another_network_is_one_difference() {
        let a = Recipe::default();
        let mlp = ModelConfig::from_name("mlp", &ModelOptions::default()).unwrap();
        let b = Recipe {
            model: mlp,
            ..a.clone()
        };
        let differences = a.differences(&b);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert_eq!(differences[0].setting, "model");
    }
}
