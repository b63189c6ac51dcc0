//! Which rows of a run one [`Sampling`](super::Sampling) computes, so that a run can be split
//! across workers (the page's CPU backend) and give the same images whatever the split.
//!
//! At every step each row has an index among the whole run's rows (`ids`), and its noise is
//! addressed by that index ([`Noise::normal_rows`](crate::noise::Noise::normal_rows)): a part
//! draws exactly the numbers the whole run draws for its rows. ddim and v1 split their N rows
//! into contiguous chunks. v2's rows grow (1 → k → … → N, tiled: row `j` of `b` has the
//! children `j + b·c`), so every part computes the steps before the first one with at least as
//! many rows as there are parts, and from that step on keeps the rows that descend from its
//! chunk of that step's rows.

use std::ops::Range;

/// Part `index` of a run split into `of` parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub index: usize,
    pub of: usize,
}

impl Part {
    /// The whole run.
    pub const WHOLE: Part = Part { index: 0, of: 1 };

    /// This part's chunk of `n` rows (the chunks differ in size by at most one).
    fn chunk(self, n: usize) -> Range<usize> {
        self.index * n / self.of..(self.index + 1) * n / self.of
    }
}

/// The current rows of a part: their indices among the whole run's rows.
#[derive(Clone, Debug)]
pub(super) struct Rows {
    part: Part,
    /// Index of each current row among the whole run's `total` rows.
    pub ids: Vec<usize>,
    /// The whole run's rows at this step.
    pub total: usize,
    /// The whole run's row count at the step where this part chose its rows.
    split: Option<usize>,
}

impl Rows {
    /// `total` rows, this part's share of them chosen if there are enough.
    pub fn new(part: Part, total: usize) -> Self {
        let mut rows = Rows { part, ids: (0..total).collect(), total, split: None };
        rows.choose();
        rows
    }

    /// The rows after a fan-out into `copies`: row `j` of `b` gets the copies `j + b·c`.
    pub fn tile(&mut self, copies: usize) {
        let b = self.total;
        self.ids = (0..copies).flat_map(|c| self.ids.iter().map(move |&id| id + b * c)).collect();
        self.total *= copies;
    }

    /// Once the run has at least as many rows as parts, keep this part's: returns which of the
    /// current rows stay, `None` when all do.
    pub fn choose(&mut self) -> Option<Vec<usize>> {
        if self.split.is_none() && self.total >= self.part.of {
            self.split = Some(self.total);
        }
        let b = self.split?;
        let mine = self.part.chunk(b);
        let keep: Vec<usize> = (0..self.ids.len()).filter(|&r| mine.contains(&(self.ids[r] % b))).collect();
        if keep.len() == self.ids.len() {
            return None;
        }
        self.ids = keep.iter().map(|&r| self.ids[r]).collect();
        Some(keep)
    }

    /// Of `rows` just evaluated, those this part accounts for: rows every part evaluates
    /// (before the split) count in part 0 only, so the parts' counts add up to the whole run's.
    pub fn owned(&self, rows: usize) -> usize {
        if self.split.is_some() || self.part.index == 0 {
            rows
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// v2's shape for N = 20, k = 2: 1 → 2 → 10 → 20 rows.
    fn v2_final_ids(part: Part) -> Vec<usize> {
        let mut rows = Rows::new(part, 1);
        for copies in [2, 5, 2] {
            rows.tile(copies);
            rows.choose();
        }
        assert_eq!(rows.total, 20);
        rows.ids
    }

    #[test]
    fn parts_cover_every_row_once() {
        for of in 1..=5 {
            let mut all: Vec<usize> = (0..of).flat_map(|index| v2_final_ids(Part { index, of })).collect();
            all.sort_unstable();
            assert_eq!(all, (0..20).collect::<Vec<_>>(), "{of} parts");
            let mut all: Vec<usize> = (0..of).flat_map(|index| Rows::new(Part { index, of }, 7).ids).collect();
            all.sort_unstable();
            assert_eq!(all, (0..7).collect::<Vec<_>>(), "{of} parts");
        }
    }

    #[test]
    fn a_v2_part_keeps_whole_families() {
        // Two parts split the 2 class rows: each keeps one class (ids ≡ its class mod 2).
        assert!(v2_final_ids(Part { index: 0, of: 2 }).iter().all(|id| id % 2 == 0));
        assert!(v2_final_ids(Part { index: 1, of: 2 }).iter().all(|id| id % 2 == 1));
        // Three parts first have enough rows at 10: each keeps the children of its chunk of those.
        let ids = v2_final_ids(Part { index: 1, of: 3 });
        assert!(ids.iter().all(|id| (3..6).contains(&(id % 10))), "{ids:?}");
    }

    #[test]
    fn shared_rows_count_once() {
        let (a, b) = (Rows::new(Part { index: 0, of: 2 }, 1), Rows::new(Part { index: 1, of: 2 }, 1));
        assert_eq!(a.owned(1) + b.owned(1), 1);
        let (a, b) = (Rows::new(Part { index: 0, of: 2 }, 4), Rows::new(Part { index: 1, of: 2 }, 4));
        assert_eq!(a.owned(a.ids.len()) + b.owned(b.ids.len()), 4);
    }
}
