//! Latency distributions: an HDR histogram (3 significant digits) plus exact
//! count, minimum and maximum, allocated on the first value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer as HdrDeserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Highest latency recorded: one hour, in microseconds. Larger values are
/// implausible for an HTTP request and are counted as invalid instead (see
/// [`super::Aggregate::invalid`]).
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// How finely latencies are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Three significant digits: each percentile is within 0.1 % of the
    /// exact nearest-rank value (about 190 KiB a histogram). Every scan
    /// and state.
    #[default]
    Exact,
    /// Two significant digits, within 1 % (about 26 KiB): the many short
    /// time buckets of `--follow`'s windows.
    Live,
}

impl Precision {
    fn digits(self) -> u8 {
        match self {
            Precision::Exact => 3,
            Precision::Live => 2,
        }
    }
}

/// A mergeable latency distribution in microseconds.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    histogram: Option<Box<Histogram<u64>>>,
    min: u64,
    max: u64,
}

/// Nearest-rank percentiles of a distribution, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The exact maximum.
    pub max: u64,
}

fn new_histogram(precision: Precision) -> Box<Histogram<u64>> {
    // The bounds are constants that satisfy `1 <= low`, `high >= 2 * low`
    // and `sigfig <= 5`, so creation cannot fail.
    Box::new(
        Histogram::new_with_bounds(1, MAX_LATENCY_US, precision.digits()).expect("constant histogram bounds are valid"),
    )
}

impl Latency {
    /// Records one latency; values above [`MAX_LATENCY_US`] are recorded as
    /// that maximum (callers reject them first).
    pub fn record(&mut self, us: u64, precision: Precision) {
        let histogram = self.histogram.get_or_insert_with(|| new_histogram(precision));
        let value = us.min(MAX_LATENCY_US);
        if histogram.is_empty() {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        histogram.saturating_record(value);
    }

    /// Adds `other`'s values to these.
    pub fn merge(&mut self, other: &Latency) {
        let Some(theirs) = &other.histogram else {
            return;
        };
        match &mut self.histogram {
            None => {
                self.histogram = Some(theirs.clone());
                (self.min, self.max) = (other.min, other.max);
            }
            Some(ours) => {
                if !theirs.is_empty() {
                    self.min = if ours.is_empty() { other.min } else { self.min.min(other.min) };
                    self.max = self.max.max(other.max);
                }
                // Same bounds on both sides, so the addition always fits.
                ours.add(&**theirs).expect("histograms share bounds");
            }
        }
    }

    /// p50, p90, p99 (nearest rank, from the histogram) and the exact max;
    /// `None` when nothing was recorded.
    pub fn percentiles(&self) -> Option<Percentiles> {
        let histogram = self.histogram.as_ref().filter(|h| !h.is_empty())?;
        let count = histogram.len();
        let at = |per_hundred: u64| self.value_at_rank(histogram, (per_hundred * count).div_ceil(100).max(1));
        Some(Percentiles { count, p50: at(50), p90: at(90), p99: at(99), max: self.max })
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.as_ref().map_or(0, |h| h.len())
    }

    /// The exact smallest value, if any was recorded.
    pub fn min(&self) -> Option<u64> {
        self.histogram.as_ref().filter(|h| !h.is_empty()).map(|_| self.min)
    }

    /// The value of the `rank`-th smallest recording (1-based): the middle of
    /// its histogram bucket, kept within the exact min and max; the last rank
    /// is the exact max.
    fn value_at_rank(&self, histogram: &Histogram<u64>, rank: u64) -> u64 {
        if rank >= histogram.len() {
            return self.max;
        }
        let mut seen = 0;
        for bucket in histogram.iter_recorded() {
            seen += bucket.count_since_last_iteration();
            if seen >= rank {
                let value = histogram.median_equivalent(bucket.value_iterated_to());
                return value.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

/// Upper bounds of the exported latency histograms (Prometheus `le`), in
/// microseconds: 1, 2.5 and 5 per decade from 1 ms to 10 s, then 30 s and
/// 60 s. Fixed, so that histograms from many hosts and runs add up.
pub const HISTOGRAM_BOUNDS_US: [u64; 15] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000, 30_000_000, 60_000_000,
];

/// A distribution as a histogram over [`HISTOGRAM_BOUNDS_US`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyHistogram {
    /// Values at or below each bound (cumulative).
    pub at_or_below: Vec<u64>,
    /// All values.
    pub count: u64,
    /// Their sum, in microseconds (each value as the middle of its
    /// histogram bucket: within 0.1 %).
    pub sum_us: f64,
}

impl Latency {
    /// The distribution over [`HISTOGRAM_BOUNDS_US`]; `None` when empty.
    /// Each of the histogram's buckets counts at the first bound at or
    /// above its lowest value (or the exact minimum, when that is higher).
    /// A bucket is at most 0.1 % wide: a value that far above a bound may
    /// count in it, never one below. For latencies logged to the
    /// millisecond the counts are exact up to the 2.5 s bound.
    pub fn histogram(&self) -> Option<LatencyHistogram> {
        let histogram = self.histogram.as_ref().filter(|h| !h.is_empty())?;
        let mut at_or_below = vec![0u64; HISTOGRAM_BOUNDS_US.len()];
        let mut sum_us = 0.0;
        for bucket in histogram.iter_recorded() {
            let (count, value) = (bucket.count_at_value(), bucket.value_iterated_to());
            let lowest = histogram.lowest_equivalent(value).clamp(self.min, self.max);
            sum_us += histogram.median_equivalent(value).clamp(self.min, self.max) as f64 * count as f64;
            if let Some(slot) = at_or_below.get_mut(HISTOGRAM_BOUNDS_US.partition_point(|&bound| bound < lowest)) {
                *slot += count;
            }
        }
        for i in 1..at_or_below.len() {
            at_or_below[i] += at_or_below[i - 1];
        }
        Some(LatencyHistogram { at_or_below, count: histogram.len(), sum_us })
    }
}

/// The values a percentile reported as `us` may stand for: the bounds of
/// its bucket in a histogram of [`Precision::Exact`] (3 significant
/// digits). A percentile is its bucket's middle, so the exact nearest-rank
/// value lies somewhere in this range.
pub fn bucket_bounds(us: u64) -> (u64, u64) {
    // `new` allocates a tiny auto-resizing histogram; bucket arithmetic
    // depends only on the precision, not on the recorded range.
    let histogram = Histogram::<u64>::new(Precision::Exact.digits()).expect("3 significant digits are valid");
    (histogram.lowest_equivalent(us), histogram.highest_equivalent(us))
}

/// The serialised form of a non-empty distribution: the exact bounds and
/// the histogram (HDR V2 with deflate, base64).
#[derive(Serialize, Deserialize)]
struct Stored {
    min: u64,
    max: u64,
    hdr: String,
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Some(histogram) = self.histogram.as_ref().filter(|h| !h.is_empty()) else {
            return serializer.serialize_none();
        };
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(|e| serde::ser::Error::custom(format!("cannot encode a latency histogram: {e:?}")))?;
        serializer.serialize_some(&Stored { min: self.min, max: self.max, hdr: BASE64.encode(bytes) })
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Some(stored) = Option::<Stored>::deserialize(deserializer)? else {
            return Ok(Latency::default());
        };
        let bytes =
            BASE64.decode(&stored.hdr).map_err(|e| de::Error::custom(format!("histogram is not base64: {e}")))?;
        let decoded: Histogram<u64> = HdrDeserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| de::Error::custom(format!("histogram is corrupt: {e:?}")))?;
        let mut histogram = new_histogram(Precision::Exact);
        histogram.add(&decoded).map_err(|e| de::Error::custom(format!("histogram has other bounds: {e:?}")))?;
        if decoded.is_empty() || stored.min > stored.max {
            return Err(de::Error::custom("histogram is empty or its min exceeds its max"));
        }
        Ok(Latency { histogram: Some(histogram), min: stored.min, max: stored.max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn nearest_rank(sorted: &[u64], per_hundred: u64) -> u64 {
        let rank = (per_hundred * sorted.len() as u64).div_ceil(100).max(1);
        sorted[rank as usize - 1]
    }

    fn within_tenth_percent(got: u64, want: u64) -> bool {
        got.abs_diff(want) as f64 <= want as f64 * 0.001
    }

    #[test]
    fn histogram_buckets_count_each_value_at_its_bound_to_a_tenth_of_a_percent() {
        // Around every bound, one millisecond apart: each value counts at
        // the first bound at or above it, never one below.
        let mut values = Vec::new();
        for bound in HISTOGRAM_BOUNDS_US {
            values.extend(((bound / 1000).saturating_sub(3).max(1)..=bound / 1000 + 3).map(|ms| ms * 1000));
        }
        values.extend([1, 999, 1_001, 61_000_000, MAX_LATENCY_US]);
        let mut latency = Latency::default();
        for &v in &values {
            latency.record(v, Precision::Exact);
        }
        let histogram = latency.histogram().unwrap();
        let at_or_below = |limit: u64| values.iter().filter(|&&v| v <= limit).count() as u64;
        for (i, &bound) in HISTOGRAM_BOUNDS_US.iter().enumerate() {
            let got = histogram.at_or_below[i];
            if bound <= 2_500_000 {
                assert_eq!(got, at_or_below(bound), "le {bound} µs");
            } else {
                // Within the histogram's 0.1 %: never a value below.
                assert!((at_or_below(bound)..=at_or_below(bound + bound / 1000)).contains(&got), "le {bound} µs");
            }
        }
        assert_eq!(histogram.count, values.len() as u64);
        let sum: u64 = values.iter().sum();
        assert!((histogram.sum_us - sum as f64).abs() <= sum as f64 * 0.001);
        assert_eq!(Latency::default().histogram(), None);
    }

    #[test]
    fn small_exact_values() {
        let mut l = Latency::default();
        for v in [5, 1, 3, 2, 4] {
            l.record(v, Precision::Exact);
        }
        assert_eq!(l.percentiles(), Some(Percentiles { count: 5, p50: 3, p90: 5, p99: 5, max: 5 }));
        assert_eq!(Latency::default().percentiles(), None);
    }

    #[test]
    fn an_empty_distribution_is_null() {
        assert_eq!(serde_json::to_string(&Latency::default()).unwrap(), "null");
        let back: Latency = serde_json::from_str("null").unwrap();
        assert_eq!(back.percentiles(), None);
        assert!(serde_json::from_str::<Latency>(r#"{"min":1,"max":2,"hdr":"bm90IGhkcg=="}"#).is_err());
    }

    #[test]
    fn zero_and_the_maximum() {
        let mut l = Latency::default();
        l.record(0, Precision::Exact);
        l.record(MAX_LATENCY_US, Precision::Exact);
        let p = l.percentiles().unwrap();
        assert_eq!((p.p50, p.max), (0, MAX_LATENCY_US));
    }

    #[test]
    fn bucket_bounds_hold_the_value_and_its_neighbours() {
        // Below 2048 µs every microsecond is its own bucket.
        assert_eq!(bucket_bounds(1_500), (1_500, 1_500));
        // 30 ms: buckets of 16 µs from 16.384 ms on; 30.008 ms is the
        // middle reported for 30 ms.
        assert_eq!(bucket_bounds(30_000), (30_000, 30_015));
        assert_eq!(bucket_bounds(30_008), (30_000, 30_015));
        // 314 ms: buckets of 256 µs; reported as 313.984 ms.
        assert_eq!(bucket_bounds(314_000), (313_856, 314_111));
    }

    proptest! {
        #[test]
        fn reported_percentiles_lie_in_the_bucket_of_the_exact_value(mut values in proptest::collection::vec(0u64..MAX_LATENCY_US, 1..200)) {
            let mut l = Latency::default();
            values.iter().for_each(|&v| l.record(v, Precision::Exact));
            values.sort_unstable();
            let p = l.percentiles().unwrap();
            for (got, per_hundred) in [(p.p50, 50), (p.p90, 90), (p.p99, 99)] {
                let (low, high) = bucket_bounds(got);
                let want = nearest_rank(&values, per_hundred);
                prop_assert!(low <= want && want <= high, "p{per_hundred}: {want} outside {low}..={high}");
            }
        }

        #[test]
        fn serde_round_trips(values in proptest::collection::vec(0u64..MAX_LATENCY_US, 1..200)) {
            let mut l = Latency::default();
            values.iter().for_each(|&v| l.record(v, Precision::Exact));
            let back: Latency = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
            prop_assert_eq!(back.percentiles(), l.percentiles());
            prop_assert_eq!(back.min(), l.min());
        }

        #[test]
        fn percentiles_within_a_tenth_of_a_percent(mut values in proptest::collection::vec(0u64..MAX_LATENCY_US, 1..400)) {
            let mut l = Latency::default();
            values.iter().for_each(|&v| l.record(v, Precision::Exact));
            values.sort_unstable();
            let p = l.percentiles().unwrap();
            for (got, per_hundred) in [(p.p50, 50), (p.p90, 90), (p.p99, 99)] {
                let want = nearest_rank(&values, per_hundred);
                prop_assert!(within_tenth_percent(got, want), "p{per_hundred}: {got} vs {want}");
            }
            prop_assert_eq!(p.max, *values.last().unwrap());
        }

        #[test]
        fn merge_equals_recording_all(a in proptest::collection::vec(0u64..10_000_000, 0..50), b in proptest::collection::vec(0u64..10_000_000, 0..50)) {
            let (mut la, mut lb, mut all) = (Latency::default(), Latency::default(), Latency::default());
            a.iter().for_each(|&v| { la.record(v, Precision::Exact); all.record(v, Precision::Exact) });
            b.iter().for_each(|&v| { lb.record(v, Precision::Exact); all.record(v, Precision::Exact) });
            let mut ab = la.clone();
            ab.merge(&lb);
            let mut ba = lb.clone();
            ba.merge(&la);
            prop_assert_eq!(ab.percentiles(), all.percentiles());
            prop_assert_eq!(ba.percentiles(), all.percentiles());
        }
    }
}
