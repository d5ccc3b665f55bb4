//! `cts-logscan merge`: combine JSON reports written on several hosts (or
//! over several files) into one, exactly. Every counter is in the report,
//! and every latency object carries its HDR histogram, so the merged
//! percentiles equal those of one scan over all the inputs.
//!
//! Limits: a report cut with `--code` merges as the codes it shows; more
//! than 8 distinct messages, services or operations per code keep the 8
//! smallest exactly and count the rest together; malformed-line samples
//! keep the first five in input order.

use std::time::Duration;

use super::{CodeReport, InputReport, LatencyReport, NameCount, Report, TopReport};
use crate::aggregate::{
    Aggregate, Breakdown, Buckets, CappedCounts, CodeStats, Latency, LinePosition, MalformedSample, TimeSpan,
    TopStrings,
};
use crate::filter::Filter;
use crate::record::Malformed;

/// Merges `reports` into one report over all their inputs.
///
/// # Errors
///
/// When a report's histogram, time or status cannot be read back, naming
/// the report by its position in the list (from 1).
pub fn merge(reports: &[Report]) -> Result<Report, String> {
    let mut total = Aggregate::default();
    let mut inputs: Vec<InputReport> = Vec::new();
    let mut directory_errors = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let part = aggregate_of(report, inputs.len() as u32).map_err(|e| format!("report {}: {e}", i + 1))?;
        if let (Some(a), Some(b)) = (total.bucket_ms, part.bucket_ms)
            && a != b
        {
            return Err(format!(
                "report {} has {} s buckets, an earlier one {} s: use one --bucket",
                i + 1,
                b / 1000,
                a / 1000
            ));
        }
        total.merge(part);
        inputs.extend(report.inputs.iter().cloned());
        directory_errors.extend(report.summary.directory_errors.iter().cloned());
    }
    Ok(Report::assemble(&total, inputs, directory_errors, &Filter::default(), Duration::ZERO))
}

/// The statistics a report was built from; its inputs get file indexes from
/// `first_file` on.
fn aggregate_of(report: &Report, first_file: u32) -> Result<Aggregate, String> {
    let s = &report.summary;
    let mut agg = Aggregate {
        lines: s.lines,
        requests: s.requests,
        blank: s.blank,
        filtered: s.filtered,
        error_bodies: s.error_bodies,
        time_span: time_span(s.first_time.as_deref(), s.last_time.as_deref())?,
        ..Aggregate::default()
    };
    for (name, &count) in &s.malformed_by_kind {
        let kind =
            Malformed::ALL.iter().find(|k| k.name() == name).ok_or(format!("unknown malformed kind {name:?}"))?;
        agg.malformed[*kind as usize] = count;
    }
    for sample in &s.malformed_samples {
        let file = report.inputs.iter().position(|i| i.path == sample.file).unwrap_or(0) as u32;
        let kind = *Malformed::ALL.iter().find(|k| k.name() == sample.kind).ok_or("unknown malformed kind")?;
        let position = LinePosition { file: first_file + file, block: 0, line: sample.line.saturating_sub(1) };
        agg.samples.push(MalformedSample { position, kind });
    }
    for (status, &count) in &s.statuses {
        agg.statuses.add_count(status.parse().map_err(|_| format!("bad status {status:?}"))?, count);
    }
    agg.latency_without_error = latency(s.latency_ms.without_error_body.as_ref())?;
    (agg.invalid.time, agg.invalid.status, agg.invalid.latency) =
        (s.invalid_fields.time, s.invalid_fields.status, s.invalid_fields.latency);
    let first_bucket = match &s.series {
        Some(series) => {
            let size = (series.bucket_seconds * 1000.0).round() as i64;
            let first = time(&series.first_bucket)? / size.max(1);
            for (i, &n) in series.requests.iter().enumerate() {
                if n > 0 {
                    agg.request_buckets.add(first + i as i64, n);
                }
            }
            agg.bucket_ms = Some(size);
            Some(first)
        }
        None => None,
    };
    agg.top = report.codes.iter().filter_map(|c| c.top.as_ref()).map(|t| t.endpoints.len().max(1)).max();
    for code in &report.codes {
        let mut stats = code_stats(code)?;
        if let (Some(first), Some(series)) = (first_bucket, &code.series) {
            for (i, &n) in series.iter().enumerate().filter(|(_, n)| **n > 0) {
                stats.buckets.add(first + i as i64, n);
            }
        }
        if code.code == "*other*" {
            agg.other_codes = Some(Box::new(stats));
        } else {
            agg.codes.insert(code.code.clone(), stats);
        }
    }
    Ok(agg)
}

fn code_stats(code: &CodeReport) -> Result<CodeStats, String> {
    let strings = |pairs: Vec<(String, u64)>, others| TopStrings { kept: pairs, others };
    let mut statuses = Vec::new();
    for (status, &count) in &code.statuses {
        statuses.push((status.parse().map_err(|_| format!("bad status {status:?}"))?, count));
    }
    statuses.sort_unstable();
    Ok(CodeStats {
        count: code.count,
        statuses,
        latency: latency(code.latency_ms.as_ref())?,
        time_span: time_span(code.first_seen.as_deref(), code.last_seen.as_deref())?,
        messages: strings(code.messages.iter().map(|m| (m.message.clone(), m.count)).collect(), code.other_messages),
        services: strings(code.service_types.iter().map(|n| (n.name.clone(), n.count)).collect(), 0),
        operations: strings(code.trace_names.iter().map(|n| (n.name.clone(), n.count)).collect(), 0),
        buckets: Buckets::default(),
        breakdown: code.top.as_ref().map(|top| Box::new(breakdown(top))),
    })
}

/// The top lists a report kept (so merged top lists rank what each part's
/// top N held; everything else merges exactly).
fn breakdown(top: &TopReport) -> Breakdown {
    let counts = |names: &[NameCount]| {
        let mut counts = CappedCounts::default();
        names.iter().for_each(|n| counts.add(&n.name, n.count));
        counts
    };
    Breakdown {
        endpoints: counts(&top.endpoints),
        projects: counts(&top.projects),
        clients: counts(&top.clients),
        samples: Vec::new(),
    }
}

fn latency(report: Option<&LatencyReport>) -> Result<Latency, String> {
    let Some(l) = report else {
        return Ok(Latency::default());
    };
    let us = |ms: f64| (ms * 1000.0).round() as u64;
    Latency::decode(&l.hdr, us(l.min), us(l.max))
}

fn time(text: &str) -> Result<i64, String> {
    text.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|e| format!("bad time {text:?}: {e}"))
}

fn time_span(first: Option<&str>, last: Option<&str>) -> Result<TimeSpan, String> {
    match (first, last) {
        (Some(first), Some(last)) => Ok(Some((time(first)?, time(last)?))),
        _ => Ok(None),
    }
}
