//! The JSON report.
//!
//! # Format
//!
//! One pretty-printed object, schema version [`SCHEMA_VERSION`]. Fields are
//! only ever added within a version; a removal or change of meaning bumps it.
//! Times are RFC 3339 in UTC, latencies are milliseconds (from microsecond
//! measurements), shares and rates are plain numbers (`0.25` = 25 %), and
//! figures that cannot be computed are `null`. `summary.timing` is the only
//! part that differs between two runs over the same input. Optional parts
//! appear with their flags: `summary.series` and `codes[].series`/`started`
//! (`--bucket`), `codes[].top` (`--top`), `codes[].service_types` and
//! `trace_names` (CTS trace inputs). `hdr` holds a latency histogram (HDR
//! V2 with deflate, base64) so that `cts-logscan merge` can combine reports
//! exactly.
//!
//! ```json
//! {
//!   "schema_version": 1,
//!   "tool": { "name": "cts-logscan", "version": "0.1.0" },
//!   "inputs": [ { "path": "api.ndjson", "format": "ndjson", "bytes": 1830,
//!                 "compression": null, "raw_bytes": 1830, "lines": 10, "malformed": 1, "error": null } ],
//!   "summary": {
//!     "files": 1, "directory_errors": [], "bytes": 1830, "lines": 10, "requests": 8, "blank": 1, "malformed": 1, "filtered": 0,
//!     "malformed_by_kind": { "invalid-json": 1 },
//!     "malformed_samples": [ { "file": "api.ndjson", "line": 7, "kind": "invalid-json" } ],
//!     "error_bodies": 4, "error_rate": 0.5, "unknown_code_bodies": 1,
//!     "first_time": "2026-11-27T10:00:00.000Z", "last_time": "2026-11-27T10:04:00.000Z",
//!     "span_seconds": 240.0,
//!     "statuses": { "200": 4, "400": 3, "401": 1 },
//!     "latency_ms": {
//!       "all": { "count": 8, "min": 8.0, "p50": 20.0, "p90": 120.0, "p99": 120.0, "max": 120.0, "hdr": "HISTFAAAA…" },
//!       "without_error_body": { "count": 4, "min": 8.0, "p50": 10.0, "p90": 15.0, "p99": 15.0, "max": 15.0, "hdr": "…" }
//!     },
//!     "invalid_fields": { "time": 0, "status": 0, "latency": 0 },
//!     "timing": { "wall_seconds": 0.001, "mib_per_second": 1.7 }
//!   },
//!   "codes": [
//!     {
//!       "code": "CTS.0003", "count": 2, "share": 0.5, "per_1k_requests": 250.0, "per_minute": 0.5,
//!       "in_catalog": true, "edition": "documented", "documented_status": 400,
//!       "documented_message": "Invalid message body. The message body is empty or invalid.",
//!       "description": "…", "solution": "…",
//!       "statuses": { "400": 1, "500": 1 }, "status_mismatches": 1,
//!       "latency_ms": { "count": 2, "min": 30.0, "p50": 30.0, "p90": 120.0, "p99": 120.0, "max": 120.0, "hdr": "…" },
//!       "first_seen": "2026-11-27T10:01:00.000Z", "last_seen": "2026-11-27T10:03:00.000Z",
//!       "messages": [ { "message": "Invalid message body.", "count": 2 } ], "other_messages": 0
//!     }
//!   ]
//! }
//! ```

use std::io;

use super::{Render, Report};

/// Why a JSON report could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ReadError {
    path: String,
    reason: String,
}

/// Reads a report written by `--output json`.
///
/// # Errors
///
/// When it cannot be read or parsed, or has another schema version.
pub fn read_report(path: &std::path::Path) -> Result<Report, ReadError> {
    let error = |reason: String| ReadError { path: path.display().to_string(), reason };
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let report: Report = serde_json::from_slice(&bytes)
        .map_err(|e| error(format!("not a cts-logscan JSON report ({e}); write one with --output json")))?;
    if report.schema_version != SCHEMA_VERSION {
        return Err(error(format!("schema version {} (this build reads {SCHEMA_VERSION})", report.schema_version)));
    }
    Ok(report)
}

/// The version of the JSON report's structure.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes the report as pretty-printed JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonRenderer;

impl Render for JsonRenderer {
    fn render(&self, report: &Report, wtr: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *wtr, report)?;
        writeln!(wtr)
    }
}
