//! What `--follow` shows at each interval: one [`Snapshot`], written as a
//! line of JSON when stdout is not a terminal.
//!
//! # Format
//!
//! Version [`SNAPSHOT_VERSION`]; fields are only added within a version
//! (`since_start.out_of_window` was added to version 1).
//!
//! ```json
//! {"snapshot_version":1,"time":"2026-12-01T07:30:03.000Z","window_end":"2026-12-01T07:30:10.000Z",
//!  "inputs":[{"path":"access.log","state":"following","bytes":1830}],
//!  "since_start":{"lines":10,"requests":8,"error_bodies":4,"malformed":1,"out_of_window":1},
//!  "windows":["1m","5m","15m"],
//!  "error_rate":{"window":"1m","now":0.5,"baseline":0.1},
//!  "codes":[{"code":"CTS.0003","in_catalog":true,"new":false,"since_start":2,
//!            "first_seen":"2026-12-01T07:20:00.000Z",
//!            "windows":[{"window":"1m","count":1,"per_1k":250.0}, …],
//!            "latency_ms":{"window":"5m","p50":30.0,"p99":120.0},
//!            "started":"2026-12-01T07:29:00.000Z","sparkline":[0,0,…,1],
//!            "attribution":{"endpoints":[{"name":"/v3/{id}/tracker","now":1,"baseline":0,
//!                                         "share_now":1.0,"share_baseline":0.0}],"projects":[],"clients":[]}}]}
//! ```
//!
//! Windows end on the wall clock: `window_end` is the end of the
//! 10-second bucket holding `time` (the next one when a request stamped up
//! to 10 s ahead of the clock falls in it; see [`super::windows`]).
//! `since_start.out_of_window` counts the requests since following began
//! whose logged time was more than 10 s ahead of the wall clock or older
//! than the 30-minute ring (or the longest window, if longer): they are in
//! `since_start` and in no window, and they never move `window_end`.
//! `error_rate.now` is over the shortest window, `baseline` over the rest
//! of the longest one. A code is `new` when it was first seen
//! after following began ([`super::Follower::new_codes`]). `started` follows the `--bucket`
//! rule over the 10-second buckets of the last 30 minutes; `sparkline` has
//! one count per minute of them. `attribution` appears for a code whose
//! spike started or whose rate in the shortest window is at least three
//! times its baseline: the endpoints, projects and clients whose share of
//! that code rose most. `alerts` (added to version 1) lists the last
//! `--alert` firings and resolutions, as `{"rule","state","value","code",
//! "window","time"}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::alerts::AlertEvent;
use super::windows::{BUCKET_MS, Windows, label};
use crate::aggregate::{Aggregate, HeavyHitters, RatingCounts};
use crate::catalog;
use crate::lex::time::format_rfc3339;
use crate::report::{Shift, ratio, rising, spike_onset};

/// The version of the snapshot's structure.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The live figures at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub snapshot_version: u32,
    /// When the snapshot was taken (wall clock, RFC 3339).
    pub time: String,
    /// The end of the windows (on the wall clock, RFC 3339).
    pub window_end: Option<String>,
    /// The inputs followed.
    pub inputs: Vec<LiveInput>,
    /// Totals since following began.
    pub since_start: Totals,
    /// The window lengths, shortest first (`1m`).
    pub windows: Vec<String>,
    /// Error bodies per request now and before.
    pub error_rate: ErrorRate,
    /// One entry per code, by count in the shortest window, then since the
    /// start.
    pub codes: Vec<LiveCode>,
    /// The last alerts that fired or resolved, oldest first (at most
    /// [`ALERTS_SHOWN`]); absent when none did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertEvent>,
}

/// Alerts a snapshot lists.
pub const ALERTS_SHOWN: usize = 20;

/// One followed input.
#[derive(Clone, Debug, Serialize)]
pub struct LiveInput {
    /// The path, or `<stdin>`.
    pub path: String,
    /// `following`, `deleted`, `ended` or `read once`.
    pub state: String,
    /// Bytes read from it.
    pub bytes: u64,
}

/// Totals since following began.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Totals {
    /// Lines read.
    pub lines: u64,
    /// Requests.
    pub requests: u64,
    /// Requests with an error body.
    pub error_bodies: u64,
    /// Lines that did not parse.
    pub malformed: u64,
    /// Requests whose logged time was more than 10 s ahead of the wall
    /// clock or older than the windows keep: in these totals, in no window.
    pub out_of_window: u64,
    /// CTS traces per `trace_rating`, when any was rated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_ratings: Option<RatingCounts>,
}

/// The error rate now against its baseline.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorRate {
    /// The window `now` is taken over.
    pub window: String,
    /// Error bodies per request in that window.
    pub now: Option<f64>,
    /// Error bodies per request over the rest of the longest window.
    pub baseline: Option<f64>,
}

/// One code, live.
#[derive(Clone, Debug, Serialize)]
pub struct LiveCode {
    /// The code.
    pub code: String,
    /// Whether it is in the CTS catalogue.
    pub in_catalog: bool,
    /// Not seen in what was read before following began.
    pub new: bool,
    /// Requests with it since following began.
    pub since_start: u64,
    /// First time seen (RFC 3339).
    pub first_seen: Option<String>,
    /// Count and rate per window.
    pub windows: Vec<WindowCount>,
    /// p50 and p99 over the middle window.
    pub latency_ms: Option<WindowLatency>,
    /// Start of the bucket where a spike of it began, if one did.
    pub started: Option<String>,
    /// Requests with it per minute, the last 30 minutes, oldest first.
    pub sparkline: Vec<u64>,
    /// What drives a spike of it, when it has one.
    pub attribution: Option<Attribution>,
    /// Message variants (ids and numbers as `<*>`) logged in the shortest
    /// window that the baseline did not log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_messages: Vec<String>,
}

/// A code in one window.
#[derive(Clone, Debug, Serialize)]
pub struct WindowCount {
    /// `1m`, `5m`, …
    pub window: String,
    /// Requests with the code.
    pub count: u64,
    /// Per 1,000 requests of the window.
    pub per_1k: Option<f64>,
}

/// Latency of a code over a window, in milliseconds (two significant
/// digits).
#[derive(Clone, Debug, Serialize)]
pub struct WindowLatency {
    /// The window.
    pub window: String,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Where a spike comes from.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attribution {
    /// Endpoints whose share of the code rose most.
    pub endpoints: Vec<Shift>,
    /// Project ids whose share rose most.
    pub projects: Vec<Shift>,
    /// Clients whose share rose most.
    pub clients: Vec<Shift>,
    /// Values of each `--by` and CTS trace field whose share rose most.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by: BTreeMap<String, Vec<Shift>>,
}

/// How many values of each kind an attribution lists.
const SHIFTS: usize = 3;

impl Snapshot {
    /// The snapshot of `since_start` and `windows`; `new_codes` were first
    /// seen after following began.
    pub fn build(
        since_start: &Aggregate,
        windows: &Windows,
        new_codes: &BTreeSet<String>,
        inputs: Vec<LiveInput>,
    ) -> Snapshot {
        let lengths = windows.lengths();
        let (shortest, longest) = (lengths.first().copied().unwrap_or(60_000), lengths.last().copied().unwrap_or(0));
        let per_window: Vec<Aggregate> = lengths.iter().map(|&l| windows.window(l)).collect();
        let baseline = windows.between(shortest, longest);
        let latency = windows.window(windows.latency_window());
        let rate = |agg: &Aggregate| (agg.requests > 0).then(|| agg.error_bodies as f64 / agg.requests as f64);
        let mut codes: Vec<LiveCode> = since_start
            .codes
            .iter()
            .map(|(code, stats)| {
                let (requests, errors) = windows.series(code);
                // As for --bucket, the series starts at the first bucket
                // with a request: the empty ring before it is no baseline.
                let lead = requests.iter().take_while(|&&n| n == 0).count();
                let started = spike_onset(&errors[lead..], &requests[lead..]).and_then(|i| {
                    windows.series_start_ms().map(|start| format_rfc3339(start + (lead + i) as i64 * BUCKET_MS))
                });
                let now = per_window.first().and_then(|w| w.codes.get(code));
                let before = baseline.codes.get(code);
                let rate_now = per_window.first().and_then(|w| ratio(now.map_or(0, |s| s.count), w.requests));
                let rate_before = ratio(before.map_or(0, |s| s.count), baseline.requests);
                let spiking = now.is_some_and(|s| s.count >= 3)
                    && (started.is_some() || rate_now.zip(rate_before).is_some_and(|(n, b)| n >= 3.0 * b && b > 0.0));
                LiveCode {
                    code: code.clone(),
                    in_catalog: catalog::lookup(code).is_some(),
                    new: new_codes.contains(code),
                    since_start: stats.count,
                    first_seen: stats.time_span.map(|(first, _)| format_rfc3339(first)),
                    windows: lengths
                        .iter()
                        .zip(&per_window)
                        .map(|(&length, agg)| {
                            let count = agg.codes.get(code).map_or(0, |s| s.count);
                            WindowCount { window: label(length), count, per_1k: ratio(count * 1000, agg.requests) }
                        })
                        .collect(),
                    latency_ms: latency.codes.get(code).and_then(|s| s.latency.percentiles()).map(|p| WindowLatency {
                        window: label(windows.latency_window()),
                        p50: p.p50 as f64 / 1000.0,
                        p99: p.p99 as f64 / 1000.0,
                    }),
                    started,
                    sparkline: errors.chunks(6).map(|c| c.iter().sum()).collect(),
                    attribution: spiking.then(|| attribution(now, before)),
                    new_messages: new_variants(now, before),
                }
            })
            .filter(|c| c.since_start > 0)
            .collect();
        codes.sort_by(|a, b| {
            let now = |c: &LiveCode| c.windows.first().map_or(0, |w| w.count);
            now(b).cmp(&now(a)).then(b.since_start.cmp(&a.since_start)).then_with(|| a.code.cmp(&b.code))
        });
        Snapshot {
            snapshot_version: SNAPSHOT_VERSION,
            time: format_rfc3339(super::now_ms()),
            window_end: windows.end_ms().map(format_rfc3339),
            inputs,
            since_start: Totals {
                lines: since_start.lines,
                requests: since_start.requests,
                error_bodies: since_start.error_bodies,
                malformed: since_start.malformed_total(),
                out_of_window: windows.out_of_window(),
                trace_ratings: (!since_start.ratings.is_empty()).then_some(since_start.ratings),
            },
            windows: lengths.iter().map(|&l| label(l)).collect(),
            error_rate: ErrorRate {
                window: label(shortest),
                now: per_window.first().and_then(rate),
                baseline: rate(&baseline),
            },
            codes,
            alerts: Vec::new(),
        }
    }
}

/// The message variants of `now` that `before` did not log.
fn new_variants(
    now: Option<&crate::aggregate::CodeStats>,
    before: Option<&crate::aggregate::CodeStats>,
) -> Vec<String> {
    let Some(now) = now else { return Vec::new() };
    let seen = |variant: &str| before.is_some_and(|b| b.variants.kept.iter().any(|(v, _)| v == variant));
    now.variants.kept.iter().map(|(variant, _)| variant).filter(|v| !seen(v)).cloned().collect()
}

/// The values whose share of a code rose most from `before` to `now`.
fn attribution(now: Option<&crate::aggregate::CodeStats>, before: Option<&crate::aggregate::CodeStats>) -> Attribution {
    let breakdown = |stats: Option<&crate::aggregate::CodeStats>| stats.and_then(|s| s.breakdown.as_deref().cloned());
    let (now, before) = (breakdown(now).unwrap_or_default(), breakdown(before).unwrap_or_default());
    Attribution {
        endpoints: shifts(&now.endpoints, &before.endpoints),
        projects: shifts(&now.projects, &before.projects),
        clients: shifts(&now.clients, &before.clients),
        by: now
            .fields
            .iter()
            .map(|(name, counts)| {
                (name.clone(), shifts(counts, before.fields.get(name).unwrap_or(&HeavyHitters::default())))
            })
            .filter(|(_, shifts)| !shifts.is_empty())
            .collect(),
    }
}

fn shifts(now: &HeavyHitters, before: &HeavyHitters) -> Vec<Shift> {
    let all = |counts: &HeavyHitters| counts.top(usize::MAX);
    rising(all(now), now.total(), &all(before), before.total(), SHIFTS)
}
