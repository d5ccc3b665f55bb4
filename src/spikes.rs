//! What drives a spike in a batch report: for each code that `--bucket`
//! says *started*, the values of its `--top` lists, `--by` fields and
//! message variants whose share of the code rose most from the buckets
//! before the spike to the spike's buckets (the live attribution's ranking).
//!
//! The counts are exact: the inputs are scanned again, once up to the
//! start of the spike and once from it, with `--top`'s breakdowns. So this
//! takes inputs that can be read again (not stdin), and one more read of
//! them per distinct start.

use std::collections::BTreeMap;

use crate::aggregate::{Breakdown, CodeStats, HeavyHitters, TopStrings};
use crate::error::Error;
use crate::filter::TimeSpec;
use crate::input::Source;
use crate::lex::time::EpochMillis;
use crate::pipeline::{ScanOptions, refuse_unrereadable, scan};
use crate::report::{Shift, rising, spike_starts};
use crate::state::State;

/// Per list, the values that drive one code's spike.
pub type Drivers = BTreeMap<String, Vec<Shift>>;

/// Values each list names at most.
const DRIVERS: usize = 3;

/// The drivers of every code of `state` (a scan of `sources` with
/// `options`) whose spike started; empty when none did, or without
/// `--bucket` and `--top`.
///
/// # Errors
///
/// As [`scan`]: when an input cannot be read twice (stdin).
pub fn spike_drivers(
    sources: &[Source],
    options: &ScanOptions,
    state: &State,
) -> Result<BTreeMap<String, Drivers>, Error> {
    if !state.collect.breakdowns {
        return Ok(BTreeMap::new());
    }
    let starts = spike_starts(state);
    if starts.is_empty() {
        return Ok(BTreeMap::new());
    }
    for source in crate::input::expand(sources.to_vec(), options.hidden).0 {
        refuse_unrereadable(&source)?;
    }
    let mut by_start: BTreeMap<EpochMillis, Vec<String>> = BTreeMap::new();
    for (code, start) in starts {
        by_start.entry(start).or_default().push(code);
    }
    let mut drivers = BTreeMap::new();
    for (start, codes) in by_start {
        let at = |time: Option<EpochMillis>| time.map(TimeSpec::At);
        let (since, until) = (state.filter.since, state.filter.until);
        let before = scan_window(sources, options, at(since), Some(TimeSpec::At(start)))?;
        let spike = scan_window(sources, options, Some(TimeSpec::At(start)), at(until))?;
        for code in codes {
            let (before, spike) = (before.aggregate.codes.get(&code), spike.aggregate.codes.get(&code));
            let Some(spike) = spike else { continue };
            drivers.insert(code, code_drivers(spike, before));
        }
    }
    Ok(drivers)
}

/// A scan of the lines from `since` to `until`, with breakdowns and no
/// series.
fn scan_window(
    sources: &[Source],
    options: &ScanOptions,
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
) -> Result<State, Error> {
    let mut collect = options.collect;
    collect.bucket_ms = None;
    collect.breakdowns = true;
    let window = ScanOptions { since, until, collect, progress: None, ..options.clone() };
    scan(sources.to_vec(), &window)
}

/// The values of each list of `spike` whose share rose most against
/// `before`.
fn code_drivers(spike: &CodeStats, before: Option<&CodeStats>) -> Drivers {
    let empty = CodeStats::default();
    let before = before.unwrap_or(&empty);
    let lists = |stats: &CodeStats| {
        let mut lists: Vec<(String, Vec<(String, u64)>)> = stats
            .breakdown
            .as_deref()
            .map(|b: &Breakdown| b.lists().map(|(name, counts)| (name.to_owned(), all(counts))).collect())
            .unwrap_or_default();
        lists.push(("messages".to_owned(), variants(&stats.variants)));
        lists
    };
    let before_lists = lists(before);
    lists(spike)
        .into_iter()
        .filter_map(|(name, values)| {
            let base = before_lists.iter().find(|(n, _)| *n == name).map(|(_, v)| &v[..]).unwrap_or_default();
            let shifts = rising(values, spike.count, base, before.count, DRIVERS);
            (!shifts.is_empty()).then_some((name, shifts))
        })
        .collect()
}

fn all(counts: &HeavyHitters) -> Vec<(String, u64)> {
    counts.top(usize::MAX)
}

fn variants(variants: &TopStrings) -> Vec<(String, u64)> {
    variants.kept.clone()
}
