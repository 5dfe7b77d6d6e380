//! The synthetic handwriting as a Burn dataset: items rendered on demand.

use burn::data::dataset::{Dataset, DatasetError};

use super::{SynthConfig, render};
use crate::{CHARACTERS, Hanzi12Item, NUM_CLASSES};

/// `12 * per_class` synthetic images, rendered on demand: index `i` is class
/// `i / per_class`, sample `n = i % per_class + 1`.
#[derive(Clone, Debug)]
pub struct SyntheticHanzi12 {
    config: SynthConfig,
    per_class: usize,
    seed: u64,
}

impl SyntheticHanzi12 {
    /// A data set of `per_class` images of each character, drawn by `config`'s
    /// writers from `seed`.
    pub fn new(config: SynthConfig, per_class: usize, seed: u64) -> Self {
        Self {
            config,
            per_class,
            seed,
        }
    }

    /// The writers' settings.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }
}

impl Dataset<Hanzi12Item> for SyntheticHanzi12 {
    fn get(&self, index: usize) -> Result<Hanzi12Item, DatasetError> {
        if index >= self.len() {
            return Err(DatasetError::new(std::io::Error::other(format!(
                "index {index} out of range for a synthetic data set of {} items",
                self.len()
            ))));
        }
        let class = index / self.per_class;
        let n = index % self.per_class + 1;
        Ok(Hanzi12Item {
            image: render(&self.config, class, self.seed, n),
            label: class,
            character: CHARACTERS[class],
            source: format!("synth:{}/{}/{n}", self.seed, class + 1),
        })
    }

    fn len(&self) -> usize {
        NUM_CLASSES * self.per_class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_items() {
        let a = SyntheticHanzi12::new(SynthConfig::new(), 4, 1);
        let b = SyntheticHanzi12::new(SynthConfig::new(), 4, 1);
        for i in (0..a.len()).rev() {
            assert_eq!(a.get(i).unwrap(), b.get(i).unwrap());
        }
    }

    #[test]
    fn items_render_alone_in_any_order_on_any_thread() {
        let data = SyntheticHanzi12::new(SynthConfig::new(), 3, 11);
        let forward: Vec<Hanzi12Item> = (0..data.len()).map(|i| data.get(i).unwrap()).collect();
        let data = &data;
        let threaded: Vec<Hanzi12Item> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..data.len())
                .rev()
                .map(|i| s.spawn(move || data.get(i).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut threaded = threaded;
        threaded.reverse();
        assert_eq!(forward, threaded);
    }

    #[test]
    fn dataset_layout_and_items() {
        let data = SyntheticHanzi12::new(SynthConfig::new(), 5, 42);
        assert_eq!(data.len(), 60);
        let item = data.get(17).unwrap();
        assert_eq!(item.label, 3);
        assert_eq!(item.character, '志');
        assert_eq!(item.source, "synth:42/4/3");
        assert_eq!(item.image, render(data.config(), 3, 42, 3));
        assert!(data.get(60).is_err());
        assert_eq!(data.get(0).unwrap().source, "synth:42/1/1");
        assert_eq!(data.get(59).unwrap().source, "synth:42/12/5");
    }
}
