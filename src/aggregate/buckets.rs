//! Counts per time bucket, for time series.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Buckets kept per series; past this the latest are dropped (and counted),
/// so that a tiny `--bucket` over a long span cannot exhaust memory.
pub const MAX_BUCKETS: usize = 100_000;

/// Counts keyed by bucket index (`time / bucket size`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    /// Index → count.
    pub counts: BTreeMap<i64, u64>,
    /// Counts that fell in buckets beyond [`MAX_BUCKETS`].
    #[serde(default)]
    pub dropped: u64,
}

impl Buckets {
    /// Adds `count` to bucket `index`.
    pub fn add(&mut self, index: i64, count: u64) {
        // Times mostly come in order, so the newest bucket is the usual
        // one: reached down the tree's right edge, without comparisons.
        if let Some(mut newest) = self.counts.last_entry()
            && *newest.key() == index
        {
            *newest.get_mut() += count;
            return;
        }
        *self.counts.entry(index).or_default() += count;
        while self.counts.len() > MAX_BUCKETS {
            if let Some((_, n)) = self.counts.pop_last() {
                self.dropped += n;
            }
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Buckets) {
        for (&index, &count) in &other.counts {
            self.add(index, count);
        }
        self.dropped += other.dropped;
    }

    /// The count of bucket `index`.
    pub fn get(&self, index: i64) -> u64 {
        self.counts.get(&index).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn counts_match_a_plain_map_in_any_order(indexes in proptest::collection::vec(-5i64..20, 0..200)) {
            let mut buckets = Buckets::default();
            let mut plain = BTreeMap::new();
            for &index in &indexes {
                buckets.add(index, 2);
                *plain.entry(index).or_insert(0) += 2;
            }
            proptest::prop_assert_eq!(buckets.counts, plain);
        }
    }
}
