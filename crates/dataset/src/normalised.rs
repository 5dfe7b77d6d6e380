//! A data set seen through [`normalise`]: the same items with their ink
//! cropped, scaled and centred, for training and validation alike.

use std::sync::OnceLock;

use burn::data::dataset::{Dataset, DatasetError};

use crate::normalise::{InkImage, NormaliseConfig, normalise};
use crate::{Hanzi12, Hanzi12Item};

/// `inner` with every image normalised by `config`. Each item's image is
/// normalised once, the first time it is fetched, and kept: later epochs
/// (and the augmentation on top) read the kept image. Safe to share between
/// loader workers; a race on a first fetch only computes the same image twice.
pub struct Normalised<D> {
    inner: D,
    config: NormaliseConfig,
    images: Vec<OnceLock<Vec<f32>>>,
}

impl<D: Dataset<Hanzi12Item>> Normalised<D> {
    pub fn new(inner: D, config: NormaliseConfig) -> Self {
        let images = (0..inner.len()).map(|_| OnceLock::new()).collect();
        Normalised {
            inner,
            config,
            images,
        }
    }

    /// The settings every image is normalised with.
    pub fn config(&self) -> &NormaliseConfig {
        &self.config
    }
}

impl Hanzi12 {
    /// The same items with their ink normalised by `config` (or as they are
    /// for `None`), all at once: what a run whose config asks for it trains,
    /// validates and is evaluated on.
    pub fn normalised(self, config: Option<&NormaliseConfig>) -> Hanzi12 {
        match config {
            Some(config) => Hanzi12::from_items(
                self.items()
                    .iter()
                    .map(|item| Hanzi12Item {
                        image: normalise(&InkImage::square(&item.image), config),
                        ..item.clone()
                    })
                    .collect(),
            ),
            None => self,
        }
    }
}

impl<D: Dataset<Hanzi12Item>> Dataset<Hanzi12Item> for Normalised<D> {
    fn get(&self, index: usize) -> Result<Hanzi12Item, DatasetError> {
        let mut item = self.inner.get(index)?;
        let image = self.images[index]
            .get_or_init(|| normalise(&InkImage::square(&item.image), &self.config));
        item.image.clone_from(image);
        Ok(item)
    }

    fn len(&self) -> usize {
        self.images.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthConfig, SyntheticHanzi12};
    use crate::{Hanzi12, PIXELS, SIDE};

    /// A small square in the top-left corner, as someone who wrote tiny and
    /// off-centre would.
    fn corner_item(label: usize) -> Hanzi12Item {
        let mut image = vec![0.0; PIXELS];
        for y in 2..8 {
            image[y * SIDE + 2..y * SIDE + 8].fill(1.0);
        }
        Hanzi12Item {
            image,
            label,
            character: crate::CHARACTERS[label],
            source: format!("corner {label}"),
        }
    }

    #[test]
    fn items_are_normalised_and_keep_their_label_and_source() {
        let data = Hanzi12::from_items(vec![corner_item(3), corner_item(7)]);
        let config = NormaliseConfig::course_like();
        let normalised = Normalised::new(data.clone(), config);
        assert_eq!(normalised.len(), 2);
        for index in 0..2 {
            let plain = data.get(index).unwrap();
            let item = normalised.get(index).unwrap();
            assert_eq!(
                item.image,
                normalise(&InkImage::square(&plain.image), &config)
            );
            assert_ne!(item.image, plain.image);
            assert_eq!((item.label, &item.source), (plain.label, &plain.source));
            // The kept image is what a second fetch gives.
            assert_eq!(normalised.get(index).unwrap(), item);
        }
    }

    #[test]
    fn fetches_from_many_threads_agree() {
        let fresh = || {
            let data = SyntheticHanzi12::new(SynthConfig::new(), 2, 4);
            Normalised::new(data, NormaliseConfig::default())
        };
        let first = fresh();
        let alone: Vec<Hanzi12Item> = (0..first.len()).map(|i| first.get(i).unwrap()).collect();
        let normalised = fresh();
        let shared = &normalised;
        let threaded: Vec<Hanzi12Item> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..shared.len())
                .map(|i| s.spawn(move || shared.get(i).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(alone, threaded);
        assert!(normalised.get(normalised.len()).is_err());
    }
}
