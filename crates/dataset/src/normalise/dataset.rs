//! A data set seen through [`normalise`]: the same items with their ink
//! cropped, scaled and centred, for training, validation and evaluation
//! alike.

use super::{InkImage, NormaliseConfig, normalise};
use crate::{Hanzi12, Hanzi12Item};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PIXELS, SIDE};
    use burn::data::dataset::Dataset;

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
        let normalised = data.clone().normalised(Some(&config));
        assert_eq!(normalised.len(), 2);
        for (plain, item) in data.items().iter().zip(normalised.items()) {
            assert_eq!(
                item.image,
                normalise(&InkImage::square(&plain.image), &config)
            );
            assert_ne!(item.image, plain.image);
            assert_eq!((item.label, &item.source), (plain.label, &plain.source));
        }
    }

    #[test]
    fn without_a_config_the_items_are_as_they_were() {
        let data = Hanzi12::from_items(vec![corner_item(0), corner_item(11)]);
        assert_eq!(data.clone().normalised(None).items(), data.items());
    }
}
