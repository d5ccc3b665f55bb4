//! The accounting rule, checked on an aggregate read from a state: every
//! line has one outcome, and every part adds up to its whole. A scan
//! cannot break it; an edited or damaged state can, and would otherwise
//! give shares above 100 % and counts that wrap when merged.
//!
//! Every count of an aggregate that passes is at most its `lines`, so
//! adding aggregates whose `lines` add up without overflow cannot
//! overflow any count.

use super::{Aggregate, Buckets, CodeStats, RatingCounts, TopStrings};

/// What went wrong: the rule broken, with the figures.
pub type Broken = String;

impl Aggregate {
    /// Checks the accounting rule and every sum the aggregate holds.
    ///
    /// # Errors
    ///
    /// The first rule broken, with the figures that break it.
    pub fn check_accounting(&self) -> Result<(), Broken> {
        let malformed = sum("malformed lines by kind", self.malformed.iter().map(|(_, n)| n))?;
        let outcomes =
            sum("requests + blank + malformed + filtered", [self.requests, self.blank, malformed, self.filtered])?;
        if outcomes != self.lines {
            return Err(format!(
                "lines = requests + blank + malformed + filtered does not hold ({} ≠ {} + {} + {malformed} + {})",
                self.lines, self.requests, self.blank, self.filtered
            ));
        }
        at_most("error_bodies", self.error_bodies, "requests", self.requests)?;
        at_most("error_bodies_in_malformed_lines", self.malformed_bodies, "malformed lines", malformed)?;
        let codes: Vec<(&str, &CodeStats)> = self
            .codes
            .iter()
            .map(|(code, stats)| (code.as_str(), stats))
            .chain(self.other_codes.as_deref().map(|stats| ("(other codes)", stats)))
            .collect();
        let per_code = sum("the per-code counts", codes.iter().map(|(_, s)| s.count))?;
        equal("the per-code counts", per_code, "error_bodies", self.error_bodies)?;
        let in_malformed = sum("the per-code in_malformed_lines", codes.iter().map(|(_, s)| s.in_malformed))?;
        equal(
            "the per-code in_malformed_lines",
            in_malformed,
            "error_bodies_in_malformed_lines",
            self.malformed_bodies,
        )?;
        let statuses = sum("the status counts", self.statuses.iter().map(|(_, n)| n))?;
        at_most("the status counts", statuses, "requests", self.requests)?;
        let latencies = sum(
            "the latency counts",
            codes.iter().map(|(_, s)| s.latency.count()).chain([self.latency_without_error.count()]),
        )?;
        at_most("the latency counts", latencies, "requests", self.requests)?;
        at_most("the requests per time bucket", buckets_total(&self.request_buckets)?, "requests", self.requests)?;
        at_most("the trace ratings", ratings_total(&self.ratings)?, "requests", self.requests)?;
        for (name, invalid) in
            [("time", self.invalid.time), ("status", self.invalid.status), ("latency", self.invalid.latency)]
        {
            at_most(&format!("invalid_fields.{name}"), invalid, "requests", self.requests)?;
        }
        codes
            .iter()
            .try_for_each(|(code, stats)| stats.check_accounting().map_err(|broken| format!("{code}: {broken}")))
    }
}

impl CodeStats {
    /// Checks that every figure of the code is within its count.
    fn check_accounting(&self) -> Result<(), Broken> {
        let count = self.count;
        at_most("the status counts", sum("the status counts", self.statuses.iter().map(|&(_, n)| n))?, "count", count)?;
        at_most("the latency count", self.latency.count(), "count", count)?;
        at_most("the counts per time bucket", buckets_total(&self.buckets)?, "count", count)?;
        at_most("the trace ratings", ratings_total(&self.ratings)?, "count", count)?;
        for (name, strings) in [
            ("messages", &self.messages),
            ("message variants", &self.variants),
            ("services", &self.services),
            ("operations", &self.operations),
        ] {
            at_most(name, top_strings_total(name, strings)?, "count", count)?;
        }
        let Some(breakdown) = &self.breakdown else { return Ok(()) };
        for (name, hitters) in breakdown.lists() {
            at_most(&format!("top {name}"), hitters.total(), "count", count)?;
            let kept = sum(&format!("the top {name}"), hitters.kept_counts())?;
            at_most(
                &format!("the kept top {name}"),
                kept,
                &format!("their total {}", hitters.total()),
                hitters.total(),
            )?;
            at_most(&format!("the top {name}' max_undercount"), hitters.max_undercount(), "count", count)?;
        }
        Ok(())
    }
}

fn buckets_total(buckets: &Buckets) -> Result<u64, Broken> {
    sum("the bucket counts", buckets.counts.values().copied().chain([buckets.dropped]))
}

fn ratings_total(ratings: &RatingCounts) -> Result<u64, Broken> {
    sum("the trace ratings", [ratings.normal, ratings.warning, ratings.incident])
}

fn top_strings_total(name: &str, strings: &TopStrings) -> Result<u64, Broken> {
    sum(name, strings.kept.iter().map(|(_, n)| *n).chain([strings.others]))
}

/// `counts` added up without overflow.
pub(crate) fn sum(what: &str, counts: impl IntoIterator<Item = u64>) -> Result<u64, Broken> {
    counts.into_iter().try_fold(0u64, |total, n| total.checked_add(n)).ok_or_else(|| overflow(what))
}

fn overflow(what: &str) -> Broken {
    format!("{what} add up to more than {}", u64::MAX)
}

pub(crate) fn at_most(part: &str, value: u64, whole: &str, limit: u64) -> Result<(), Broken> {
    if value <= limit { Ok(()) } else { Err(format!("{part} > {whole} ({value} > {limit})")) }
}

pub(crate) fn equal(part: &str, value: u64, whole: &str, expected: u64) -> Result<(), Broken> {
    if value == expected { Ok(()) } else { Err(format!("{part} ≠ {whole} ({value} ≠ {expected})")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 lines: 2 requests, 1 blank; one request has an error body.
    fn small() -> Aggregate {
        let mut aggregate = Aggregate { lines: 3, requests: 2, blank: 1, error_bodies: 1, ..Aggregate::default() };
        aggregate.codes.insert("CTS.0003".to_owned(), CodeStats { count: 1, ..CodeStats::default() });
        aggregate.statuses.add_count(400, 1);
        aggregate
    }

    #[test]
    fn an_aggregate_that_adds_up_passes() {
        assert_eq!(Aggregate::default().check_accounting(), Ok(()));
        assert_eq!(small().check_accounting(), Ok(()));
    }

    #[test]
    fn each_rule_is_named_with_its_figures() {
        let broken = |edit: fn(&mut Aggregate)| {
            let mut aggregate = small();
            edit(&mut aggregate);
            aggregate.check_accounting().unwrap_err()
        };
        assert_eq!(
            broken(|a| a.blank = 0),
            "lines = requests + blank + malformed + filtered does not hold (3 ≠ 2 + 0 + 0 + 0)"
        );
        assert_eq!(broken(|a| a.error_bodies = 0), "the per-code counts ≠ error_bodies (1 ≠ 0)");
        assert_eq!(broken(|a| a.statuses.add_count(200, 2)), "the status counts > requests (3 > 2)");
        assert_eq!(
            broken(|a| a.codes.get_mut("CTS.0003").unwrap().statuses = vec![(400, u64::MAX), (500, 1)]),
            format!("CTS.0003: the status counts add up to more than {}", u64::MAX)
        );
    }
}
