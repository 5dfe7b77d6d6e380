//! Several trained runs answering as one: `predict` and `eval` take one or
//! more `--checkpoint`s and average the class probabilities of their
//! networks, each network seeing the images normalised its own way; with
//! `--tta` each network also sees every image shifted by a pixel in the
//! four directions (test-time augmentation), and those answers are averaged
//! too.

use anyhow::Result;
use dataset::{Hanzi12Item, NUM_CLASSES, NormaliseConfig, SIDE};
use std::path::PathBuf;

use super::trained::Trained;
use crate::backend::Backend;

/// Class probabilities of one image.
pub type Probabilities = [f32; NUM_CLASSES];

/// The views of an image that each network answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Views {
    /// The image as it is.
    One,
    /// The image and its four one-pixel shifts (up, down, left, right).
    Shifts,
}

impl Views {
    /// The (dx, dy) shifts of the views.
    fn offsets(self) -> &'static [(i32, i32)] {
        match self {
            Views::One => &[(0, 0)],
            Views::Shifts => &[(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
        }
    }
}

/// The runs of an ensemble, loaded, and how they look at an image.
pub struct Ensemble {
    pub members: Vec<Trained>,
    pub views: Views,
}

impl Ensemble {
    /// Loads every run in `runs` on `backend`.
    pub fn load(runs: &[PathBuf], backend: Backend, views: Views) -> Result<Ensemble> {
        let members = runs
            .iter()
            .map(|run| Trained::load(run, backend))
            .collect::<Result<Vec<_>>>()?;
        Ok(Ensemble { members, views })
    }

    /// The first run: whose normalisation the mistakes gallery shows.
    pub fn first(&self) -> &Trained {
        &self.members[0]
    }

    /// What answers, in a few words ("cnn_res", "an ensemble of 5 runs, with shifts").
    pub fn describe(&self) -> String {
        let who = match self.members.len() {
            1 => self.first().recipe.model.name().to_string(),
            n => format!("an ensemble of {n} runs"),
        };
        match self.views {
            Views::One => who,
            Views::Shifts => format!("{who}, averaged over 5 shifted views"),
        }
    }

    /// The mean class probabilities of `n` images, where `input(normalise)`
    /// gives them as a network trained with `normalise` sees them.
    pub fn probabilities<F>(&self, n: usize, input: F) -> Result<Vec<Probabilities>>
    where
        F: Fn(Option<&NormaliseConfig>) -> Result<Vec<Hanzi12Item>>,
    {
        let mut sum = vec![[0.0f32; NUM_CLASSES]; n];
        let mut answers = 0usize;
        for member in &self.members {
            let items = input(member.recipe.normalise.as_ref())?;
            for &(dx, dy) in self.views.offsets() {
                let view: Vec<Hanzi12Item> = items.iter().map(|i| shifted(i, dx, dy)).collect();
                for (total, p) in sum.iter_mut().zip(member.probabilities(&view)) {
                    total.iter_mut().zip(p).for_each(|(t, p)| *t += p);
                }
                answers += 1;
            }
        }
        let scale = 1.0 / answers.max(1) as f32;
        for p in &mut sum {
            p.iter_mut().for_each(|v| *v *= scale);
        }
        Ok(sum)
    }
}

/// `item` moved `dx` pixels right and `dy` down, with blank paper (0) where
/// nothing moved in.
fn shifted(item: &Hanzi12Item, dx: i32, dy: i32) -> Hanzi12Item {
    if (dx, dy) == (0, 0) {
        return item.clone();
    }
    let side = SIDE as i32;
    let mut image = vec![0.0; item.image.len()];
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = (x - dx, y - dy);
            if (0..side).contains(&sx) && (0..side).contains(&sy) {
                image[(y * side + x) as usize] = item.image[(sy * side + sx) as usize];
            }
        }
    }
    Hanzi12Item {
        image,
        ..item.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataset::{CHARACTERS, PIXELS};

    fn item_with_ink_at(x: usize, y: usize) -> Hanzi12Item {
        let mut image = vec![0.0; PIXELS];
        image[y * SIDE + x] = 1.0;
        Hanzi12Item {
            image,
            label: 3,
            character: CHARACTERS[3],
            source: "dot".into(),
        }
    }

    #[test]
    fn a_shift_moves_the_ink_and_brings_in_paper() {
        let moved = shifted(&item_with_ink_at(5, 7), 1, -1);
        assert_eq!(moved.image[6 * SIDE + 6], 1.0);
        assert_eq!(moved.image.iter().sum::<f32>(), 1.0);
        assert_eq!(moved.label, 3);
        // Ink shifted over the edge is gone, not wrapped round.
        let gone = shifted(&item_with_ink_at(27, 0), 1, 0);
        assert_eq!(gone.image.iter().sum::<f32>(), 0.0);
    }

    #[test]
    fn the_views_are_the_image_and_its_four_neighbours() {
        assert_eq!(Views::One.offsets(), &[(0, 0)]);
        let shifts = Views::Shifts.offsets();
        assert_eq!(shifts.len(), 5);
        assert!(shifts.iter().all(|(x, y)| x.abs() + y.abs() <= 1));
    }
}
