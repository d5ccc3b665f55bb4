//! What CTS traces add: how many of each `trace_rating`, and the first
//! `incident` traces with who did what to which resource, where.

use serde::{Deserialize, Serialize};

use super::{LinePosition, insert_bounded};
use crate::extract::ErrorBody;
use crate::lex::time::EpochMillis;
use crate::record::{Record, TraceRating};

/// `incident` traces kept (the earliest in input order).
pub const MAX_INCIDENTS: usize = 20;

/// Requests per `trace_rating`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingCounts {
    /// `normal`.
    pub normal: u64,
    /// `warning`.
    pub warning: u64,
    /// `incident`.
    pub incident: u64,
}

impl RatingCounts {
    /// Counts one trace rated `rating`.
    pub fn add(&mut self, rating: TraceRating) {
        *self.get_mut(rating) += 1;
    }

    /// Traces rated `rating`.
    pub fn get(&self, rating: TraceRating) -> u64 {
        match rating {
            TraceRating::Normal => self.normal,
            TraceRating::Warning => self.warning,
            TraceRating::Incident => self.incident,
        }
    }

    fn get_mut(&mut self, rating: TraceRating) -> &mut u64 {
        match rating {
            TraceRating::Normal => &mut self.normal,
            TraceRating::Warning => &mut self.warning,
            TraceRating::Incident => &mut self.incident,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &RatingCounts) {
        for rating in TraceRating::ALL {
            *self.get_mut(rating) += other.get(rating);
        }
    }

    /// Rated traces.
    pub fn total(&self) -> u64 {
        self.normal + self.warning + self.incident
    }

    /// Whether no trace was rated (serde skips the field then).
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

/// An `incident` trace and where it was logged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IncidentSample {
    /// Where the line is.
    pub position: LinePosition,
    /// When.
    pub time: Option<EpochMillis>,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `trace_name`.
    pub trace_name: Option<String>,
    /// Who (see [`crate::group_by`]).
    pub user: Option<String>,
    /// `resource_type`/`resource_name`.
    pub resource: Option<String>,
    /// `request_id`.
    pub request_id: Option<String>,
    /// The error code, when the trace holds an error body.
    pub code: Option<String>,
}

impl IncidentSample {
    /// Whether `samples` would keep an incident at `position`: while it
    /// has room, or before its latest.
    pub fn would_keep(samples: &[IncidentSample], position: LinePosition) -> bool {
        samples.len() < MAX_INCIDENTS || samples.last().is_some_and(|last| position < last.position)
    }

    /// Keeps the incident trace of `record` in `samples` if it is among
    /// the earliest; a later one is not copied.
    pub fn keep(
        samples: &mut Vec<IncidentSample>,
        record: &Record<'_>,
        body: Option<&ErrorBody<'_>>,
        position: LinePosition,
    ) {
        if !Self::would_keep(samples, position) {
            return;
        }
        let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
        let sample = IncidentSample {
            position,
            time: record.time,
            trace_id: text(record.trace_id.as_deref()),
            trace_name: text(record.operation),
            user: text(record.by_value("user")),
            resource: text(record.by_value("resource")),
            request_id: text(record.request_id),
            code: body.map(|b| b.code.to_owned()),
        };
        insert_bounded(samples, sample, MAX_INCIDENTS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FieldValue;

    #[test]
    fn ratings_count_and_merge() {
        let mut a = RatingCounts::default();
        assert!(a.is_empty());
        [TraceRating::Normal, TraceRating::Incident, TraceRating::Incident].into_iter().for_each(|r| a.add(r));
        let mut b = RatingCounts { warning: 2, ..RatingCounts::default() };
        b.merge(&a);
        assert_eq!(b, RatingCounts { normal: 1, warning: 2, incident: 2 });
        assert_eq!(b.total(), 5);
    }

    #[test]
    fn the_earliest_incidents_are_kept() {
        let by = [FieldValue { name: "user", value: b"alice"[..].into() }];
        let record = Record { operation: Some(b"deleteTracker"), by: &by, ..Record::default() };
        let mut samples = Vec::new();
        for line in (0..30u64).rev() {
            IncidentSample::keep(&mut samples, &record, None, LinePosition { file: 0, block: 0, line });
        }
        assert_eq!(samples.len(), MAX_INCIDENTS);
        assert_eq!(samples[0].position.line, 0);
        assert_eq!(samples[0].user.as_deref(), Some("alice"));
        assert_eq!(samples[0].trace_name.as_deref(), Some("deleteTracker"));
    }
}
