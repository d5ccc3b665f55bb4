//! Statistics for one error code.

use serde::{Deserialize, Serialize};

use super::latency::{Latency, Precision};
use super::{Breakdown, Buckets, Observed, RatingCounts, TimeSpan, message_template, union_spans, widen_span};

/// Distinct values kept per code and kind (the smallest in byte order, so
/// the set does not depend on the order lines were read in).
pub const MAX_DISTINCT: usize = 8;

/// Longest value kept, in bytes; longer ones are cut at a char boundary.
pub const MAX_VALUE_LEN: usize = 256;

/// Everything counted for one error code.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CodeStats {
    /// Requests with this code.
    pub count: u64,
    /// Lines that did not parse but hold an error body with this code;
    /// they are not requests, so no other figure includes them.
    pub in_malformed: u64,
    /// `(status, count)` ascending; lines without a status are not counted.
    pub statuses: Vec<(u16, u64)>,
    /// Latency of the requests that returned this code.
    pub latency: Latency,
    /// Earliest and latest time seen.
    pub time_span: TimeSpan,
    /// The `error_msg` values seen.
    pub messages: TopStrings,
    /// The `error_msg` values seen, ids, numbers and quoted names masked
    /// ([`message_template`]): the variants of the message.
    #[serde(default)]
    pub variants: TopStrings,
    /// CTS trace `service_type` values seen.
    pub services: TopStrings,
    /// CTS trace `trace_name` values seen.
    pub operations: TopStrings,
    /// Lines per time bucket, when series are kept.
    pub buckets: Buckets,
    /// CTS traces with this code per `trace_rating`.
    #[serde(default, skip_serializing_if = "RatingCounts::is_empty")]
    pub ratings: RatingCounts,
    /// Where the errors come from, with `--top`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Box<Breakdown>>,
}

/// Counts of distinct strings, bounded to [`MAX_DISTINCT`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopStrings {
    /// `(value, count)` sorted by value.
    pub kept: Vec<(String, u64)>,
    /// Lines whose value is not in `kept`.
    pub others: u64,
}

impl TopStrings {
    fn add(&mut self, message: &str, count: u64) {
        let message = truncate(message, MAX_VALUE_LEN);
        match self.kept.binary_search_by(|(m, _)| m.as_str().cmp(message)) {
            Ok(i) => self.kept[i].1 += count,
            Err(i) if i < MAX_DISTINCT => {
                self.kept.insert(i, (message.to_owned(), count));
                if self.kept.len() > MAX_DISTINCT {
                    self.others += self.kept.pop().map_or(0, |(_, n)| n);
                }
            }
            Err(_) => self.others += count,
        }
    }

    fn merge(&mut self, other: &TopStrings) {
        for (message, count) in &other.kept {
            self.add(message, *count);
        }
        self.others += other.others;
    }

    /// The most frequent message (ties: the smallest).
    pub fn most_common(&self) -> Option<&str> {
        self.most_common_kept().map(|(m, _)| m.as_str())
    }

    /// The most frequent message when no message left out of `kept` can
    /// be as frequent (its count is above all the others' together).
    pub fn surely_most_common(&self) -> Option<&str> {
        self.most_common_kept().filter(|(_, n)| *n > self.others).map(|(m, _)| m.as_str())
    }

    fn most_common_kept(&self) -> Option<&(String, u64)> {
        self.kept.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

pub(super) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl CodeStats {
    /// Counts one request with this code.
    pub fn add(&mut self, record: &Observed<'_>, message: Option<&str>, precision: Precision) {
        self.count += 1;
        if let Some(status) = record.status {
            add_status(&mut self.statuses, status, 1);
        }
        if let Some(us) = record.latency_us {
            self.latency.record(us, precision);
        }
        if let Some(time) = record.time {
            widen_span(&mut self.time_span, time);
        }
        if let Some(message) = message {
            self.messages.add(message, 1);
            self.variants.add(&message_template(message), 1);
        }
        if let Some(bucket) = record.bucket {
            self.buckets.add(bucket, 1);
        }
        if let Some(service) = record.service {
            self.services.add(service, 1);
        }
        if let Some(operation) = record.operation {
            self.operations.add(operation, 1);
        }
        if let Some(rating) = record.rating {
            self.ratings.add(rating);
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &CodeStats) {
        self.count += other.count;
        self.in_malformed += other.in_malformed;
        for &(status, n) in &other.statuses {
            add_status(&mut self.statuses, status, n);
        }
        self.latency.merge(&other.latency);
        self.time_span = union_spans(self.time_span, other.time_span);
        self.messages.merge(&other.messages);
        self.variants.merge(&other.variants);
        self.services.merge(&other.services);
        self.buckets.merge(&other.buckets);
        if let Some(theirs) = &other.breakdown {
            self.breakdown.get_or_insert_default().merge(theirs);
        }
        self.operations.merge(&other.operations);
        self.ratings.merge(&other.ratings);
    }

    /// A comparable rendering of every figure, for tests.
    #[cfg(test)]
    pub fn summary(&self) -> String {
        format!(
            "{} {} {:?} {:?} {:?} {:?}",
            self.count,
            self.in_malformed,
            self.statuses,
            self.latency.percentiles(),
            self.time_span,
            self.messages
        )
    }
}

fn add_status(statuses: &mut Vec<(u16, u64)>, status: u16, n: u64) {
    match statuses.binary_search_by_key(&status, |&(s, _)| s) {
        Ok(i) => statuses[i].1 += n,
        Err(i) => statuses.insert(i, (status, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_the_smallest_and_count_the_rest() {
        let mut a = TopStrings::default();
        let mut b = TopStrings::default();
        for i in 0..12 {
            a.add(&format!("m{i:02}"), 1);
            b.add(&format!("m{:02}", 11 - i), 2);
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.kept.len(), MAX_DISTINCT);
        assert_eq!(ab.kept[0], ("m00".to_string(), 3));
        assert_eq!(ab.others, 4 * 3);
        assert_eq!(ab.most_common(), Some("m00"));
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let long = "é".repeat(200);
        let mut m = TopStrings::default();
        m.add(&long, 1);
        assert_eq!(m.kept[0].0.len(), MAX_VALUE_LEN);
    }

    #[test]
    fn statuses_stay_sorted() {
        let mut s = CodeStats::default();
        for status in [500, 400, 500, 403] {
            s.add(&Observed { status: Some(status), ..Observed::default() }, None, Precision::Exact);
        }
        assert_eq!(s.statuses, vec![(400, 1), (403, 1), (500, 2)]);
    }
}
