#![warn(missing_docs)]
//! `cts-logscan`: find Cloud Trace Service (CTS) error bodies in API-gateway
//! NDJSON and nginx/Apache access logs, and report per error code how many,
//! what share, how fast they were answered, when, and what the documentation
//! says to do about them.
//!
//! The data flows one way:
//!
//! ```text
//! input (spans of sources → blocks of whole lines) → format (one Record per
//! line) + extract (error body) → aggregate (per worker, merged) → state
//! (the one unit of merge) → report (a view: model + renderers)
//! ```
//!
//! One [`pipeline`] with three drivers that differ only in which bytes they
//! ask for and when: a batch scan (all of them), a resumed run
//! (`--checkpoint`: those not read before) and [`follow`] (those that are
//! new, as they come). [`serve`] hands the live figures out over HTTP.
//!
//! ```no_run
//! use cts_logscan::{input::Source, pipeline::{scan, ScanOptions}, report::Report};
//!
//! let state = scan(vec![Source::from_arg("access.log", None)], &ScanOptions::default())?;
//! let report = Report::of(&state);
//! println!("{} error bodies", report.summary.error_bodies);
//! # Ok::<(), cts_logscan::Error>(())
//! ```

pub mod aggregate;
pub mod catalog;
pub mod diff;
mod error;
pub mod escape;
pub mod extract;
pub mod filter;
pub mod follow;
pub mod format;
pub mod group_by;
pub mod input;
pub mod lex;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod rules;
pub mod serve;
pub mod spikes;
pub mod state;

pub use error::Error;
