//! Time series in the report, and the one way every renderer draws them:
//! [`Series::folding`] groups buckets into points of a round width (10 s,
//! 5 min, 30 min, 1 h, 1 day, …) aligned to the clock, and
//! [`Series::fold`] sums the buckets of each point. The table's sparklines
//! and the HTML chart both go through it.

use serde::{Deserialize, Serialize};

use super::text::duration_label;
use crate::lex::time::TimeParser;

/// Requests per time bucket, oldest first, empty buckets included. Code
/// series (`codes[].series`) are aligned with it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    /// Bucket size in seconds.
    pub bucket_seconds: f64,
    /// Start of the first bucket (RFC 3339, UTC).
    pub first_bucket: String,
    /// Requests per bucket.
    pub requests: Vec<u64>,
}

/// How a series is drawn in a limited number of points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folding {
    /// Width of a point in milliseconds: a multiple of the bucket size.
    pub point_ms: i64,
    /// Start of the first point (epoch milliseconds), at or before the
    /// first bucket.
    pub first_point_ms: i64,
    /// Points drawn.
    pub points: usize,
    /// Bucket size in milliseconds.
    bucket_ms: i64,
    /// Start of the first bucket (epoch milliseconds).
    first_bucket_ms: i64,
}

/// Point widths a reader takes in at a glance, in milliseconds; also the
/// steps between the HTML chart's time labels.
pub(super) const ROUND_WIDTHS: [i64; 22] = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
    1_209_600_000,
    2_419_200_000,
];

impl Series {
    /// The bucket size in milliseconds.
    pub fn bucket_ms(&self) -> i64 {
        ((self.bucket_seconds * 1000.0).round() as i64).max(1)
    }

    /// How to draw this series in at most `max_points` points: the
    /// narrowest round width that is a multiple of the bucket size and
    /// needs no more points (a multiple of the bucket size when no round
    /// width fits), aligned to whole widths since the epoch.
    pub fn folding(&self, max_points: usize) -> Folding {
        let bucket_ms = self.bucket_ms();
        let first_bucket_ms = TimeParser::default().parse_rfc3339(self.first_bucket.as_bytes()).unwrap_or(0);
        let last_bucket_ms = first_bucket_ms + bucket_ms * self.requests.len().saturating_sub(1) as i64;
        let points_of =
            |width: i64| (last_bucket_ms.div_euclid(width) - first_bucket_ms.div_euclid(width) + 1) as usize;
        let max_points = max_points.max(1);
        let point_ms = std::iter::once(bucket_ms)
            .chain(ROUND_WIDTHS.into_iter().filter(|w| w % bucket_ms == 0 && *w > bucket_ms))
            .find(|&width| points_of(width) <= max_points)
            .unwrap_or_else(|| bucket_ms * (self.requests.len().div_ceil(max_points).max(1) as i64 + 1));
        Folding {
            point_ms,
            first_point_ms: first_bucket_ms.div_euclid(point_ms) * point_ms,
            points: points_of(point_ms),
            bucket_ms,
            first_bucket_ms,
        }
    }

    /// `counts` (aligned with this series) in at most `max_points` points,
    /// each the sum of the buckets it covers (see [`Series::folding`]).
    pub fn fold(&self, counts: &[u64], max_points: usize) -> Vec<u64> {
        let folding = self.folding(max_points);
        let mut points = vec![0; folding.points];
        for (i, &count) in counts.iter().enumerate() {
            let start = folding.first_bucket_ms + folding.bucket_ms * i as i64;
            let point = ((start - folding.first_point_ms) / folding.point_ms) as usize;
            if let Some(slot) = points.get_mut(point) {
                *slot += count;
            }
        }
        points
    }
}

impl Folding {
    /// `30 min`, `1 h`, `10 s`: the width of a point.
    pub fn label(&self) -> String {
        duration_label(self.point_ms)
    }

    /// Buckets per point.
    pub fn buckets_per_point(&self) -> i64 {
        self.point_ms / self.bucket_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(bucket_seconds: f64, first: &str, len: usize) -> Series {
        Series { bucket_seconds, first_bucket: first.to_owned(), requests: vec![1; len] }
    }

    #[test]
    fn points_have_round_widths_aligned_to_the_clock() {
        // 27 hours of minutes in at most 96 points: 30 minutes a point.
        let s = series(60.0, "2026-11-27T10:07:00.000Z", 27 * 60);
        let folding = s.folding(96);
        assert_eq!((folding.point_ms, folding.label()), (1_800_000, "30 min".to_owned()));
        assert_eq!(folding.first_point_ms % 1_800_000, 0);
        let folded = s.fold(&s.requests, 96);
        assert!(folded.len() <= 96);
        assert_eq!(folded[0], 23, "10:07 to 10:30");
        assert_eq!(folded.iter().sum::<u64>(), 27 * 60);
        // Few buckets: one point each.
        let short = series(60.0, "2026-11-27T10:00:00.000Z", 20);
        assert_eq!(short.folding(60).point_ms, 60_000);
        assert_eq!(short.fold(&short.requests, 60), vec![1; 20]);
        // 20 five-minute buckets in 4 points: 30 minutes.
        let five = series(300.0, "2026-11-27T10:00:00.000Z", 20);
        assert_eq!(five.fold(&(0..20).collect::<Vec<u64>>(), 4), vec![15, 51, 87, 37]);
    }

    #[test]
    fn an_odd_bucket_size_folds_by_its_multiples() {
        let s = series(7.0, "2026-11-27T10:00:00.000Z", 1000);
        let folding = s.folding(60);
        assert_eq!(folding.point_ms % 7_000, 0);
        assert!(s.fold(&s.requests, 60).len() <= 60);
        assert_eq!(s.fold(&s.requests, 60).iter().sum::<u64>(), 1000);
    }
}
