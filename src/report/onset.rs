//! When a code's spike started: the one rule behind `started` in every
//! view (table, JSON, HTML, the live view), over whatever buckets the
//! view has.
//!
//! A bucket is *raised* when it holds at least 3 of the code's errors and
//! their share of the bucket's requests is at least three times the
//! baseline and at least one percentage point above it. The baseline is the
//! median share over the buckets before it (those with requests), or over
//! the whole series while fewer than 3 precede it. A spike starts at the
//! first raised bucket that begins a run of at least 3 raised buckets, or
//! of fewer that reaches the end of the series and lies at least 5 standard
//! deviations (Poisson) above the baseline. So a one-bucket cluster in
//! steady noise never starts a spike, and an ongoing one is not missed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Consecutive raised buckets that make a spike.
const PERSISTENCE: usize = 3;

/// Buckets with requests needed before a bucket for a baseline of its own.
const MIN_BASELINE: usize = 3;

/// Standard deviations above the baseline that a rise still going at the
/// end of the series, shorter than [`PERSISTENCE`], needs.
const SIGNIFICANCE: f64 = 5.0;

/// The bucket where a spike began, by the rule of this module; `errors`
/// and `requests` are per bucket. `None` when no bucket qualifies (steady
/// errors, or a short burst that ended, are not a spike).
///
/// # Complexity
///
/// O(n log n) for n buckets.
pub fn spike_onset(errors: &[u64], requests: &[u64]) -> Option<usize> {
    let buckets: Vec<(u64, u64)> = errors.iter().copied().zip(requests.iter().copied()).collect();
    let overall = overall_median(&buckets)?;
    let mut before = RunningMedian::default();
    for (i, &(count, total)) in buckets.iter().enumerate() {
        let baseline = if before.len() >= MIN_BASELINE { before.median() } else { overall };
        if raised(count, total, baseline) {
            let run = buckets[i..].iter().take_while(|&&(e, r)| raised(e, r, baseline)).count();
            let ongoing = i + run == buckets.len();
            if run >= PERSISTENCE || (ongoing && significant(&buckets[i..], baseline)) {
                return Some(i);
            }
        }
        if total > 0 {
            before.push(share(count, total));
        }
    }
    None
}

fn share(errors: u64, requests: u64) -> f64 {
    if requests == 0 { 0.0 } else { errors as f64 / requests as f64 }
}

/// Whether a bucket's errors stand out from `baseline`.
fn raised(errors: u64, requests: u64, baseline: f64) -> bool {
    let share = share(errors, requests);
    errors >= 3 && share >= 3.0 * baseline && share >= baseline + 0.01
}

/// Whether the errors of `buckets` together lie [`SIGNIFICANCE`] standard
/// deviations above what `baseline` expects of their requests.
fn significant(buckets: &[(u64, u64)], baseline: f64) -> bool {
    let (errors, requests) = buckets.iter().fold((0, 0), |(e, r), &(be, br)| (e + be, r + br));
    let expected = requests as f64 * baseline;
    errors as f64 - expected >= SIGNIFICANCE * expected.max(1.0).sqrt()
}

/// The median share over the buckets with requests.
fn overall_median(buckets: &[(u64, u64)]) -> Option<f64> {
    let mut all = RunningMedian::default();
    buckets.iter().filter(|(_, r)| *r > 0).for_each(|&(e, r)| all.push(share(e, r)));
    (all.len() > 0).then(|| all.median())
}

/// The median of the values pushed so far (the upper one of an even
/// count), in O(log n) a push. Shares are non-negative, so their bit
/// patterns order as they do.
#[derive(Default)]
struct RunningMedian {
    lower: BinaryHeap<u64>,
    upper: BinaryHeap<Reverse<u64>>,
}

impl RunningMedian {
    fn push(&mut self, value: f64) {
        let bits = value.to_bits();
        match self.upper.peek() {
            Some(&Reverse(min)) if bits < min => self.lower.push(bits),
            _ => self.upper.push(Reverse(bits)),
        }
        if self.upper.len() > self.lower.len() + 1 {
            let Reverse(min) = self.upper.pop().expect("upper is not empty");
            self.lower.push(min);
        } else if self.lower.len() > self.upper.len() {
            let max = self.lower.pop().expect("lower is not empty");
            self.upper.push(Reverse(max));
        }
    }

    fn len(&self) -> usize {
        self.lower.len() + self.upper.len()
    }

    /// The median; 0 when empty.
    fn median(&self) -> f64 {
        self.upper.peek().map_or(0.0, |&Reverse(bits)| f64::from_bits(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 600 requests a bucket, 3 errors each (0.5 %), with `extra` errors
    /// added to some buckets.
    fn series(len: usize, extra: &[(usize, u64)]) -> (Vec<u64>, Vec<u64>) {
        let mut errors = vec![3; len];
        for &(i, n) in extra {
            errors[i] += n;
        }
        (errors, vec![600; len])
    }

    #[test]
    fn a_one_bucket_cluster_in_steady_noise_is_no_spike() {
        // 10 errors in 600 requests at 07:16, two raised buckets at 07:40.
        let (errors, requests) = series(90, &[(16, 7), (40, 6), (41, 6)]);
        assert_eq!(spike_onset(&errors, &requests), None);
    }

    #[test]
    fn a_rise_that_persists_starts_where_it_began() {
        let extra: Vec<(usize, u64)> = (60..90).map(|i| (i, 57)).collect();
        let (errors, requests) = series(90, &[&[(16, 7)], extra.as_slice()].concat());
        assert_eq!(spike_onset(&errors, &requests), Some(60));
    }

    #[test]
    fn a_spike_over_most_of_the_series_is_measured_against_what_came_before() {
        let extra: Vec<(usize, u64)> = (20..90).map(|i| (i, 57)).collect();
        let (errors, requests) = series(90, &extra);
        assert_eq!(spike_onset(&errors, &requests), Some(20));
    }

    #[test]
    fn a_rise_in_the_last_bucket_counts_only_when_significant() {
        let (errors, requests) = series(20, &[(19, 57)]);
        assert_eq!(spike_onset(&errors, &requests), Some(19));
        // 10 where 3 are expected: under 5 standard deviations.
        let (errors, requests) = series(20, &[(19, 7)]);
        assert_eq!(spike_onset(&errors, &requests), None);
    }

    #[test]
    fn no_requests_no_spike() {
        assert_eq!(spike_onset(&[], &[]), None);
        assert_eq!(spike_onset(&[0, 0], &[0, 0]), None);
    }

    #[test]
    fn the_running_median_is_the_upper_median() {
        let mut median = RunningMedian::default();
        for (value, expected) in [(0.5, 0.5), (0.1, 0.5), (0.3, 0.3), (0.9, 0.5), (0.2, 0.3)] {
            median.push(value);
            assert_eq!(median.median(), expected);
        }
    }
}
