//! Which values of a breakdown gained share: the ranking behind a live
//! spike's attribution and `diff`'s "what changed".

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ratio;

/// One value's share of a code, now and before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// The endpoint, project, client or field value.
    pub name: String,
    /// Requests with the code and this value now (in the shortest window,
    /// or the newer report).
    pub now: u64,
    /// The same before (over the baseline, or in the older report).
    pub baseline: u64,
    /// Its share of the code's requests now.
    pub share_now: f64,
    /// Its share before.
    pub share_baseline: f64,
}

/// The values whose share of their whole rose from `before` (out of
/// `total_before`) to `now` (out of `total_now`), the largest rise first
/// (ties by name), at most `limit`. A value absent before had share 0.
pub fn rising(
    now: impl IntoIterator<Item = (String, u64)>,
    total_now: u64,
    before: &[(String, u64)],
    total_before: u64,
    limit: usize,
) -> Vec<Shift> {
    let before_counts: HashMap<&str, u64> = before.iter().map(|(name, count)| (name.as_str(), *count)).collect();
    let share = |count: u64, total: u64| ratio(count, total.max(1)).unwrap_or(0.0);
    let mut shifts: Vec<Shift> = now
        .into_iter()
        .map(|(name, count)| {
            let baseline = before_counts.get(name.as_str()).copied().unwrap_or(0);
            Shift {
                share_now: share(count, total_now),
                share_baseline: share(baseline, total_before),
                name,
                now: count,
                baseline,
            }
        })
        .filter(|s| s.share_now > s.share_baseline)
        .collect();
    shifts.sort_by(|a, b| {
        (b.share_now - b.share_baseline).total_cmp(&(a.share_now - a.share_baseline)).then_with(|| a.name.cmp(&b.name))
    });
    shifts.truncate(limit);
    shifts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
        items.iter().map(|(name, n)| (name.to_string(), *n)).collect()
    }

    #[test]
    fn the_largest_rise_in_share_comes_first() {
        // Before: a 8 of 10 (80 %), b 2 (20 %). Now: a 5 of 10, b 3, c 2.
        let shifts = rising(pairs(&[("a", 5), ("b", 3), ("c", 2)]), 10, &pairs(&[("a", 8), ("b", 2)]), 10, 3);
        let names: Vec<(&str, u64, u64)> = shifts.iter().map(|s| (s.name.as_str(), s.now, s.baseline)).collect();
        assert_eq!(names, [("c", 2, 0), ("b", 3, 2)]);
        assert!((shifts[0].share_now - 0.2).abs() < 1e-12 && shifts[0].share_baseline == 0.0);
        assert_eq!(rising(pairs(&[("a", 1)]), 1, &[], 0, 0), []);
    }
}
