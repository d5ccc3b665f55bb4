//! The JSON report.
//!
//! # Format
//!
//! One pretty-printed object, schema version [`SCHEMA_VERSION`]. Fields are
//! only ever added within a version; a removal or change of meaning bumps it.
//! Times are RFC 3339 in UTC, latencies are milliseconds (from microsecond
//! measurements), shares and rates are plain numbers (`0.25` = 25 %), and
//! figures that cannot be computed are `null`. `summary.timing` is the only
//! part that differs between two runs over the same input (`null` after a
//! merge). Optional parts appear with their flags: `summary.filter`
//! (`--since`, `--until`, `--status`, `--code`), `summary.series` and
//! `codes[].series`/`started` (`--bucket`), `codes[].top` (`--top`),
//! `codes[].service_types` and `trace_names` (CTS trace inputs). A report
//! is for reading; `merge` reads states (`--output state`, see
//! [`crate::state`]), never reports.
//!
//! Version 2 (this one) dropped the latency histograms (`hdr`), added
//! `summary.error_bodies_in_malformed_lines`, `codes[].in_malformed_lines`,
//! `summary.filter`, `codes[].top.max_undercount` and `inputs[].fingerprint`,
//! made `timing` nullable, and counts `error_bodies` over requests only.
//!
//! ```json
//! {
//!   "schema_version": 2,
//!   "tool": { "name": "cts-logscan", "version": "0.1.0" },
//!   "inputs": [ { "path": "api.ndjson", "format": "ndjson", "compression": null, "bytes": 1830,
//!                 "raw_bytes": 1830, "lines": 10, "malformed": 1, "fingerprint": "5be0c1a47f2e9d13", "error": null } ],
//!   "summary": {
//!     "files": 1, "directory_errors": [], "bytes": 1830, "lines": 10, "requests": 8, "blank": 1, "malformed": 1, "filtered": 0,
//!     "malformed_by_kind": { "invalid-json": 1 },
//!     "malformed_samples": [ { "file": "api.ndjson", "line": 7, "kind": "invalid-json" } ],
//!     "error_bodies": 4, "error_rate": 0.5, "unknown_code_bodies": 1, "error_bodies_in_malformed_lines": 0,
//!     "first_time": "2026-11-27T10:00:00.000Z", "last_time": "2026-11-27T10:04:00.000Z",
//!     "span_seconds": 240.0,
//!     "statuses": { "200": 4, "400": 3, "401": 1 },
//!     "latency_ms": {
//!       "all": { "count": 8, "min": 8.0, "p50": 20.0, "p90": 120.0, "p99": 120.0, "max": 120.0 },
//!       "without_error_body": { "count": 4, "min": 8.0, "p50": 10.0, "p90": 15.0, "p99": 15.0, "max": 15.0 }
//!     },
//!     "invalid_fields": { "time": 0, "status": 0, "latency": 0 },
//!     "timing": { "wall_seconds": 0.001, "mib_per_second": 1.7 }
//!   },
//!   "codes": [
//!     {
//!       "code": "CTS.0003", "count": 2, "in_malformed_lines": 0, "share": 0.5, "per_1k_requests": 250.0, "per_minute": 0.5,
//!       "in_catalog": true, "edition": "documented", "documented_status": 400,
//!       "documented_message": "Invalid message body. The message body is empty or invalid.",
//!       "description": "…", "solution": "…",
//!       "statuses": { "400": 1, "500": 1 }, "status_mismatches": 1,
//!       "latency_ms": { "count": 2, "min": 30.0, "p50": 30.0, "p90": 120.0, "p99": 120.0, "max": 120.0 },
//!       "first_seen": "2026-11-27T10:01:00.000Z", "last_seen": "2026-11-27T10:03:00.000Z",
//!       "messages": [ { "message": "Invalid message body.", "count": 2 } ], "other_messages": 0
//!     }
//!   ]
//! }
//! ```

use std::io;
use std::path::Path;

use super::{Render, Report};
use crate::error::Error;

/// Reads a report written by `--output json` (for `diff`).
///
/// # Errors
///
/// When it cannot be read or parsed (with line and column), is a state, or
/// has another schema version (naming both).
pub fn read_report(path: &Path) -> Result<Report, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadFile { path: path.to_owned(), source })?;
    let parse_error = |e: serde_json::Error| Error::Parse {
        path: path.to_owned(),
        what: "JSON report",
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    #[derive(serde::Deserialize)]
    struct Header {
        schema_version: Option<u32>,
        state_version: Option<u32>,
    }
    let header: Header = crate::state::first_value(&bytes).map_err(parse_error)?;
    match (header.schema_version, header.state_version) {
        (Some(SCHEMA_VERSION), _) => serde_json::from_slice(&bytes).map_err(parse_error),
        (Some(found), _) => {
            Err(Error::Version { path: path.to_owned(), what: "JSON report", found, supported: SCHEMA_VERSION })
        }
        (None, Some(_)) => Err(Error::NotReadable {
            path: path.to_owned(),
            reason: "is a state; diff reads JSON reports: view it with `cts-logscan merge FILE --output json`"
                .to_owned(),
        }),
        (None, None) => Err(Error::NotReadable {
            path: path.to_owned(),
            reason: "is not a cts-logscan JSON report; write one with --output json".to_owned(),
        }),
    }
}

/// The version of the JSON report's structure.
pub const SCHEMA_VERSION: u32 = 2;

/// Writes the report as pretty-printed JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonRenderer;

impl Render for JsonRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        crate::escape::write_json_pretty(&mut *wtr, report)?;
        writeln!(wtr)
    }
}
