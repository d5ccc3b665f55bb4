//! A mergeable heavy-hitter summary (Misra–Gries, in the batched form of
//! Agarwal et al., "Mergeable Summaries", 2012) for `--top`.
//!
//! It counts values exactly until more than [`CAPACITY`] distinct values
//! have been seen. Past that, it keeps at most `2 × CAPACITY` counters while
//! adding and [`CAPACITY`] after a merge: when a table overflows, the
//! `(CAPACITY + 1)`-th largest count `c` is subtracted from every counter
//! and counters that reach zero are dropped.
//!
//! # Error bound
//!
//! Each kept count is a lower bound: for every value,
//! `estimate ≤ true count ≤ estimate + max_undercount`, and
//! `max_undercount ≤ total / (CAPACITY + 1)`, also after any number of
//! merges. A value that is not kept was seen at most `max_undercount`
//! times. `max_undercount == 0` means every count is exact. While the
//! distinct values fit, the summary (and its ranking) does not depend on
//! the order values were added or summaries merged; beyond, which values
//! survive near the cut may.

use compact_str::CompactString;
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Distinct values counted exactly per code and dimension; see the
/// [module docs](self) for what happens beyond.
pub const CAPACITY: usize = 1024;

/// Counts of the most frequent values of one dimension, with a bounded
/// error once there are more than [`CAPACITY`] distinct values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeavyHitters {
    /// foldhash, not SipHash: values are counted once per error line, and
    /// the order is never seen (states and reports sort). hashbrown's map
    /// for `entry_ref`: a new value is hashed and probed once, and a known
    /// one is not copied. Values of up to 24 bytes (client addresses, most
    /// codes) are kept inline in the table: a lookup compares them in
    /// place, and a new one is not an allocation.
    counts: HashMap<CompactString, u64, foldhash::fast::RandomState>,
    total: u64,
    max_undercount: u64,
}

impl HeavyHitters {
    /// Counts `value` `n` times.
    ///
    /// # Complexity
    ///
    /// Amortised O(1): a prune costs O([`CAPACITY`]) and happens at most
    /// once per [`CAPACITY`] new values.
    pub fn add(&mut self, value: &str, n: u64) {
        self.total += n;
        match self.counts.entry_ref(value) {
            EntryRef::Occupied(mut count) => *count.get_mut() += n,
            EntryRef::Vacant(slot) => {
                slot.insert_with_key(CompactString::from(value), n);
                if self.counts.len() > 2 * CAPACITY {
                    self.prune();
                }
            }
        }
    }

    /// Adds `other`'s counts into these; the result keeps at most
    /// [`CAPACITY`] values and the error bound of the module docs.
    pub fn merge(&mut self, other: &HeavyHitters) {
        for (value, &n) in &other.counts {
            match self.counts.get_mut(value) {
                Some(count) => *count += n,
                None => {
                    self.counts.insert(value.clone(), n);
                }
            }
        }
        self.total += other.total;
        self.max_undercount += other.max_undercount;
        self.prune();
    }

    /// Brings the table down to at most [`CAPACITY`] counters.
    pub fn prune(&mut self) {
        if self.counts.len() <= CAPACITY {
            return;
        }
        let mut counts: Vec<u64> = self.counts.values().copied().collect();
        let (_, &mut cut, _) = counts.select_nth_unstable_by(CAPACITY, |a, b| b.cmp(a));
        self.counts.retain(|_, count| {
            *count = count.saturating_sub(cut);
            *count > 0
        });
        self.max_undercount += cut;
    }

    /// The `n` largest counts, ties by value.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(&CompactString, &u64)> = self.counts.iter().collect();
        all.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter().take(n).map(|(v, &c)| (v.to_string(), c)).collect()
    }

    /// How many values were counted in all.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The kept counts, in no order.
    pub(crate) fn kept_counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts.values().copied()
    }

    /// How much any count may be below the true one (0: exact).
    pub fn max_undercount(&self) -> u64 {
        self.max_undercount
    }
}

/// The serialised form: counters sorted by value, so that a state does not
/// depend on hash order.
#[derive(Serialize, Deserialize)]
struct Stored {
    counts: Vec<(String, u64)>,
    total: u64,
    max_undercount: u64,
}

impl Serialize for HeavyHitters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut counts: Vec<(String, u64)> = self.counts.iter().map(|(v, &n)| (v.to_string(), n)).collect();
        counts.sort_unstable();
        Stored { counts, total: self.total, max_undercount: self.max_undercount }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for HeavyHitters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        if stored.counts.len() > 2 * CAPACITY {
            return Err(serde::de::Error::custom(format!(
                "a --top summary holds {} values, more than the {} this build keeps",
                stored.counts.len(),
                2 * CAPACITY
            )));
        }
        Ok(HeavyHitters {
            counts: stored.counts.into_iter().map(|(value, n)| (CompactString::from(value), n)).collect(),
            total: stored.total,
            max_undercount: stored.max_undercount,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(values: &[u32]) -> std::collections::HashMap<String, u64> {
        let mut counts = std::collections::HashMap::new();
        values.iter().for_each(|v| *counts.entry(v.to_string()).or_default() += 1);
        counts
    }

    fn summary(values: &[u32]) -> HeavyHitters {
        let mut h = HeavyHitters::default();
        values.iter().for_each(|v| h.add(&v.to_string(), 1));
        h
    }

    /// Every true count lies in `[estimate, estimate + max_undercount]`,
    /// and the bound is within `total / (CAPACITY + 1)`.
    fn assert_bounded(h: &HeavyHitters, truth: &std::collections::HashMap<String, u64>) {
        let total: u64 = truth.values().sum();
        assert_eq!(h.total(), total);
        assert!(h.max_undercount() <= total / (CAPACITY as u64 + 1), "{} > bound", h.max_undercount());
        for (value, &count) in truth {
            let estimate = h.counts.get(value.as_str()).copied().unwrap_or(0);
            assert!(estimate <= count && count <= estimate + h.max_undercount(), "{value}: {estimate} vs {count}");
        }
    }

    #[test]
    fn exact_while_the_values_fit() {
        let values: Vec<u32> =
            (0..CAPACITY as u32).flat_map(|v| std::iter::repeat_n(v, (v % 7 + 1) as usize)).collect();
        let mut reversed = values.clone();
        reversed.reverse();
        let (a, b) = (summary(&values), summary(&reversed));
        assert_eq!(a, b);
        assert_eq!(a.max_undercount(), 0);
        assert_eq!(a.top(1), vec![("1000".to_owned(), 7)]);
        let mut halves = summary(&values[..values.len() / 2]);
        halves.merge(&summary(&values[values.len() / 2..]));
        assert_eq!(halves, a);
    }

    #[test]
    fn heavy_values_survive_a_long_tail() {
        // 3 heavy values among 20,000 singletons: each heavy value is
        // above total / (CAPACITY + 1), so it must be kept, ranked first.
        let mut values: Vec<u32> = (100..20_100).collect();
        for (i, heavy) in [1u32, 2, 3].iter().enumerate() {
            values.extend(std::iter::repeat_n(*heavy, 500 - i * 100));
        }
        let h = summary(&values);
        assert_bounded(&h, &exact(&values));
        let top: Vec<String> = h.top(3).into_iter().map(|(v, _)| v).collect();
        assert_eq!(top, ["1", "2", "3"]);
        assert!(h.max_undercount() > 0);
    }

    proptest! {
        #[test]
        fn merged_summaries_keep_the_bound(
            parts in proptest::collection::vec(proptest::collection::vec(0u32..3000, 0..3000), 1..5),
            skew in 0u32..4,
        ) {
            let parts: Vec<Vec<u32>> = parts.into_iter().map(|p| p.into_iter().map(|v| v >> skew).collect()).collect();
            let all: Vec<u32> = parts.concat();
            let mut merged = HeavyHitters::default();
            for part in &parts {
                merged.merge(&summary(part));
            }
            assert_bounded(&merged, &exact(&all));
            prop_assert!(merged.counts.len() <= CAPACITY);
            let mut other_order = HeavyHitters::default();
            for part in parts.iter().rev() {
                other_order.merge(&summary(part));
            }
            assert_bounded(&other_order, &exact(&all));
        }
    }
}
