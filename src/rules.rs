//! `--fail-on` and `--alert` thresholds: rules evaluated against the
//! [`Figures`] of a finished report (`--fail-on`) or of the merged
//! aggregate of a live window (`--alert`), by the same code.
//!
//! A rule is `[CODE:]METRIC OP VALUE`, or `CODE OP VALUE` for a code's
//! count:
//!
//! | rule | meaning |
//! | --- | --- |
//! | `error_rate>0.5%` | error bodies per request above 0.5 % |
//! | `unknown_codes>0` | any error body with a code outside the CTS catalogue |
//! | `p99>2s` | p99 latency of all requests above 2 s (`p50`, `p90`, `p99`, `max`) |
//! | `CTS.0004>0` | any `CTS.0004` |
//! | `CTS.0003:p99>500ms` | p99 latency of `CTS.0003` requests above 500 ms |
//! | `CTS.0003:count>=100`, `CTS.0003:rate>1%` | count; share of requests |
//! | `requests<100`, `error_bodies>1000` | requests, requests with an error body |
//! | `requests<1` | nothing was read: fail a nightly job on an empty input |
//! | `malformed_rate>1%` | malformed lines per line read |
//!
//! Operators: `>`, `>=`, `<`, `<=`. Latencies take `us`, `ms` (the
//! default) or `s`; rates take `%` or a fraction of 1 (`0.5` is 50 %; `50`
//! is refused: did you mean `50%`?). The left side must be a metric or a
//! code-shaped name (`CTS.0003`, `APIGW.0301`), so a typo cannot make a
//! rule that never fires; a code that is neither in the catalogue nor seen
//! gets a warning ([`warnings`]).
//!
//! Percentiles come from a histogram: the exact value lies somewhere in the
//! reported value's bucket (within the exact minimum and maximum). `>` and
//! `<` breach only when every value of that range is beyond the threshold;
//! `>=` and `<=` breach unless every value is short of it. So rounding
//! never decides a rule, and `p99>X` breaches exactly when `p99<=X` holds.
//!
//! A rule with nothing to judge is [`Verdict::Unjudged`]: a latency rule
//! over all requests when no request has a latency, or one over a code
//! that occurred without any latency. A per-code rule for a code that
//! never occurred holds; so do rates without requests. Rules see every
//! code, also those a `--code` filter hides from the report.

use std::fmt;

use crate::aggregate::{Aggregate, bucket_bounds};
use crate::catalog;
use crate::error::Error;
use crate::record::TraceRating;
use crate::report::text::ms_percentile_plain;
use crate::report::{LatencyReport, Report, ratio};

/// What a rule can name, read from a [`Report`] (`--fail-on`) or straight
/// from an [`Aggregate`] (a live window for `--alert`, without building a
/// report). Both give the same figures for the same aggregate, so a rule
/// judges them alike.
pub trait Figures {
    /// Lines read.
    fn lines(&self) -> u64;
    /// Requests.
    fn requests(&self) -> u64;
    /// Requests with an error body.
    fn error_bodies(&self) -> u64;
    /// Malformed lines.
    fn malformed(&self) -> u64;
    /// Error bodies whose code is not in the CTS catalogue (codes beyond
    /// the distinct-code limit included).
    fn unknown_code_bodies(&self) -> u64;
    /// Requests with `code`; `None` when the code is not listed at all.
    fn code_count(&self, code: &str) -> Option<u64>;
    /// Latency percentiles of all requests (`code` `None`) or of those
    /// with `code`; `None` when none of them has a latency.
    fn latency(&self, code: Option<&str>) -> Option<LatencyReport>;
    /// CTS traces rated `rating`, of all (`code` `None`) or with `code`.
    fn rated(&self, code: Option<&str>, rating: TraceRating) -> u64;
}

impl Figures for Report {
    fn lines(&self) -> u64 {
        self.summary.lines
    }

    fn requests(&self) -> u64 {
        self.summary.requests
    }

    fn error_bodies(&self) -> u64 {
        self.summary.error_bodies
    }

    fn malformed(&self) -> u64 {
        self.summary.malformed
    }

    fn unknown_code_bodies(&self) -> u64 {
        self.summary.unknown_code_bodies
    }

    fn code_count(&self, code: &str) -> Option<u64> {
        self.codes.iter().find(|c| c.code == code).map(|c| c.count)
    }

    fn latency(&self, code: Option<&str>) -> Option<LatencyReport> {
        match code {
            None => self.summary.latency_ms.all.clone(),
            Some(code) => self.codes.iter().find(|c| c.code == code)?.latency_ms.clone(),
        }
    }

    fn rated(&self, code: Option<&str>, rating: TraceRating) -> u64 {
        let ratings = match code {
            None => self.summary.trace_ratings,
            Some(code) => self.codes.iter().find(|c| c.code == code).and_then(|c| c.trace_ratings),
        };
        ratings.map_or(0, |r| r.get(rating))
    }
}

/// The figures [`Report::build`] derives, taken from the aggregate
/// directly.
impl Figures for Aggregate {
    fn lines(&self) -> u64 {
        self.lines
    }

    fn requests(&self) -> u64 {
        self.requests
    }

    fn error_bodies(&self) -> u64 {
        self.error_bodies
    }

    fn malformed(&self) -> u64 {
        self.malformed_total()
    }

    fn unknown_code_bodies(&self) -> u64 {
        let unknown: u64 =
            self.codes.iter().filter(|(code, _)| catalog::lookup(code).is_none()).map(|(_, s)| s.count).sum();
        // The report lists them as `*other*`, which is not in the catalogue.
        unknown + self.other_codes.as_ref().map_or(0, |s| s.count)
    }

    fn code_count(&self, code: &str) -> Option<u64> {
        self.codes.get(code).map(|s| s.count)
    }

    fn latency(&self, code: Option<&str>) -> Option<LatencyReport> {
        match code {
            None => LatencyReport::from_latency(&self.latency_all()),
            Some(code) => LatencyReport::from_latency(&self.codes.get(code)?.latency),
        }
    }

    fn rated(&self, code: Option<&str>, rating: TraceRating) -> u64 {
        match code {
            None => self.ratings.get(rating),
            Some(code) => self.codes.get(code).map_or(0, |s| s.ratings.get(rating)),
        }
    }
}

/// One parsed `--fail-on` rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    text: String,
    code: Option<String>,
    metric: Metric,
    op: Op,
    threshold: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    Count,
    Rate,
    UnknownCodes,
    Requests,
    ErrorBodies,
    MalformedRate,
    Latency(Quantile),
    /// CTS traces with this `trace_rating`.
    Rated(TraceRating),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quantile {
    P50,
    P90,
    P99,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Above,
    AtLeast,
    Below,
    AtMost,
}

/// A rule that was breached, with what was observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    /// The rule as written.
    pub rule: String,
    /// The observed value, with its unit.
    pub observed: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--fail-on {} breached: observed {}", self.rule, self.observed)
    }
}

/// A rule the report has no data for: a run that checked nothing must not
/// pass, so this fails the run (exit 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Unjudged {
    /// The rule as written.
    pub rule: String,
    /// Why it cannot be judged, and what to do.
    pub reason: String,
}

impl fmt::Display for Unjudged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--fail-on {} not judged: {}", self.rule, self.reason)
    }
}

/// What one rule says about a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The report keeps the rule.
    Holds,
    /// The report breaks the rule.
    Breached(Breach),
    /// The report has no data to judge the rule by.
    Unjudged(Unjudged),
}

/// Every rule's verdict on one report, by kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// The rules breached, in the order given.
    pub breaches: Vec<Breach>,
    /// The rules that could not be judged, in the order given.
    pub unjudged: Vec<Unjudged>,
}

/// What a rule sees: the range the exact value lies in (one point when the
/// report has it exactly) and the value the report shows, in the rule's
/// unit (ms for latencies, a fraction for rates).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Observed {
    low: f64,
    high: f64,
    shown: f64,
}

impl Observed {
    fn exact(value: f64) -> Observed {
        Observed { low: value, high: value, shown: value }
    }

    /// A percentile reported as `ms`: its histogram bucket, within the
    /// exact minimum and maximum of `latency`.
    fn percentile(ms: f64, latency: &LatencyReport) -> Observed {
        let (low, high) = bucket_bounds((ms * 1000.0).round() as u64);
        let to_ms = |us: u64| us as f64 / 1000.0;
        Observed { low: to_ms(low).max(latency.min), high: to_ms(high).min(latency.max), shown: ms }
    }
}

impl Rule {
    /// Parses a rule.
    ///
    /// # Errors
    ///
    /// When the rule has no operator, an unknown metric, or a value that is
    /// not a number with a fitting unit.
    pub fn parse(text: &str) -> Result<Rule, Error> {
        let error = |reason: &str| Error::Rule { rule: text.to_owned(), reason: reason.to_owned() };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (at, op, op_len) = [(">=", Op::AtLeast), ("<=", Op::AtMost), (">", Op::Above), ("<", Op::Below)]
            .iter()
            .find_map(|&(token, op)| compact.find(token).map(|at| (at, op, token.len())))
            .ok_or_else(|| error("no operator (>, >=, <, <=)"))?;
        let (left, value) = (&compact[..at], &compact[at + op_len..]);
        let (code, metric_name) = match left.split_once(':') {
            Some((code, metric)) => (Some(code.to_owned()), metric),
            None if metric(left, false).is_some() => (None, left),
            None => (Some(left.to_owned()), "count"),
        };
        if let Some(code) = code.as_deref().filter(|code| !is_code_shaped(code)) {
            return Err(error(&format!(
                "'{code}' is neither a metric ({GLOBAL_METRICS}) nor an error code like CTS.0003 or APIGW.0301"
            )));
        }
        let metric = metric(metric_name, code.is_some()).ok_or_else(|| {
            let known = if code.is_some() { CODE_METRICS } else { GLOBAL_METRICS };
            error(&format!("unknown metric '{metric_name}' (known: {known})"))
        })?;
        let threshold =
            threshold(metric, value).ok_or_else(|| error("the value is not a number with a fitting unit"))?;
        if metric.is_share() && threshold > 1.0 {
            return Err(error(&if value.ends_with('%') {
                "a rate cannot exceed 100%".to_owned()
            } else {
                format!("a rate is a fraction of 1 or a percentage: did you mean {value}%?")
            }));
        }
        Ok(Rule { text: text.to_owned(), code, metric, op, threshold })
    }

    /// What this rule looks at in `figures`; `None` when they do not have
    /// it.
    fn observe<F: Figures + ?Sized>(&self, figures: &F) -> Option<Observed> {
        let share = |part: u64, whole: u64| ratio(part, whole).map(Observed::exact);
        let count = |n: u64| Some(Observed::exact(n as f64));
        let code = self.code.as_deref();
        match self.metric {
            Metric::UnknownCodes => count(figures.unknown_code_bodies()),
            Metric::Requests => count(figures.requests()),
            Metric::ErrorBodies => count(figures.error_bodies()),
            Metric::MalformedRate => share(figures.malformed(), figures.lines()),
            Metric::Rate => match code {
                None => share(figures.error_bodies(), figures.requests()),
                Some(code) => share(figures.code_count(code).unwrap_or(0), figures.requests()),
            },
            Metric::Count => count(code.and_then(|code| figures.code_count(code)).unwrap_or(0)),
            // Judged only where some line was rated: the input is traces.
            Metric::Rated(rating) => TraceRating::ALL
                .iter()
                .any(|&any| figures.rated(None, any) > 0)
                .then(|| Observed::exact(figures.rated(code, rating) as f64)),
            Metric::Latency(q) => figures.latency(code).map(|l| pick(&l, q)),
        }
    }

    /// The code this rule is about, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// What this rule observes in `figures`, with its unit; `-` when they
    /// do not have it.
    pub fn observed_text<F: Figures + ?Sized>(&self, figures: &F) -> String {
        self.observe(figures).map_or("-".to_owned(), |observed| self.show(observed.shown))
    }

    /// `observed` as the report knows it: counts as integers, rates as
    /// percentages with 3 significant digits, percentiles with the
    /// histogram's 3 significant digits, the exact maximum to the
    /// microsecond.
    fn show(&self, observed: f64) -> String {
        match self.metric {
            Metric::Rate | Metric::MalformedRate => format!("{} %", ms_percentile_plain(observed * 100.0)),
            Metric::Latency(Quantile::Max) => format!("{} ms", trim_zeros(&format!("{observed:.3}"))),
            Metric::Latency(_) => format!("{} ms", ms_percentile_plain(observed)),
            Metric::Count | Metric::UnknownCodes | Metric::Requests | Metric::ErrorBodies | Metric::Rated(_) => {
                format!("{observed:.0}")
            }
        }
    }

    /// What this rule says about `figures`: a [`Report`] or the aggregate
    /// of a window.
    pub fn verdict<F: Figures + ?Sized>(&self, figures: &F) -> Verdict {
        let Some(observed) = self.observe(figures) else {
            return match self.missing_data(figures) {
                Some(reason) => Verdict::Unjudged(Unjudged { rule: self.text.clone(), reason }),
                None => Verdict::Holds,
            };
        };
        // Breach only when the whole range the exact value may lie in
        // breaks the rule, or, for `>=`/`<=`, touches the threshold.
        let breached = match self.op {
            Op::Above => observed.low > self.threshold,
            Op::AtLeast => observed.high >= self.threshold,
            Op::Below => observed.high < self.threshold,
            Op::AtMost => observed.low <= self.threshold,
        };
        if breached {
            Verdict::Breached(Breach { rule: self.text.clone(), observed: self.show(observed.shown) })
        } else {
            Verdict::Holds
        }
    }

    /// Why a figure `figures` do not have leaves this rule unjudged;
    /// `None` when its absence means the rule holds (a code that never
    /// occurred, a rate without requests).
    fn missing_data<F: Figures + ?Sized>(&self, figures: &F) -> Option<String> {
        if let Metric::Rated(_) = self.metric {
            return Some(
                "no line has a trace_rating: the input holds no CTS traces (ListTraces output or OBS trace files)"
                    .to_owned(),
            );
        }
        let Metric::Latency(_) = self.metric else {
            return None;
        };
        match &self.code {
            None => Some(
                "no request in the input has a latency; log one (nginx $request_time, Apache %D) or name its field with --latency-field"
                    .to_owned(),
            ),
            Some(code) => figures.code_count(code).filter(|&count| count > 0).map(|count| format!(
                "none of the {count} {code} requests has a latency; log one (nginx $request_time, Apache %D) or name its field with --latency-field"
            )),
        }
    }

    /// The breach, if `figures` break this rule.
    pub fn check<F: Figures + ?Sized>(&self, figures: &F) -> Option<Breach> {
        match self.verdict(figures) {
            Verdict::Breached(breach) => Some(breach),
            Verdict::Holds | Verdict::Unjudged(_) => None,
        }
    }

    /// A warning when this rule names a code that is neither in the
    /// catalogue nor in `report`: a typo, or the older lower-case
    /// numbering. The rule is still judged, with the code's count 0.
    fn unknown_code_warning(&self, report: &Report) -> Option<String> {
        let code = self.code.as_deref()?;
        if catalog::lookup(code).is_some() || report.code_count(code).is_some() {
            return None;
        }
        let spelled = catalog::all()
            .iter()
            .map(|info| info.code)
            .chain(report.codes.iter().map(|c| c.code.as_str()))
            .find(|known| known.eq_ignore_ascii_case(code));
        let advice = match spelled {
            Some(known) => format!("codes are case-sensitive: did you mean {known}?"),
            None => "check the code (`cts-logscan codes` lists the catalogue)".to_owned(),
        };
        Some(format!(
            "--fail-on {}: '{code}' is not in the CTS catalogue and was not seen, so the rule judges a count of 0; {advice}",
            self.text
        ))
    }
}

impl Metric {
    /// Whether the metric is a share of 1 (a rate).
    fn is_share(self) -> bool {
        matches!(self, Metric::Rate | Metric::MalformedRate)
    }
}

/// Every rule's verdict on `figures`: a [`Report`] or the aggregate of a
/// window.
pub fn judge<F: Figures + ?Sized>(rules: &[Rule], figures: &F) -> Judgement {
    let mut judgement = Judgement::default();
    for rule in rules {
        match rule.verdict(figures) {
            Verdict::Holds => {}
            Verdict::Breached(breach) => judgement.breaches.push(breach),
            Verdict::Unjudged(unjudged) => judgement.unjudged.push(unjudged),
        }
    }
    judgement
}

/// Warnings about rules that name a code that is neither in the catalogue
/// nor seen in `report`.
pub fn warnings(rules: &[Rule], report: &Report) -> Vec<String> {
    rules.iter().filter_map(|rule| rule.unknown_code_warning(report)).collect()
}

/// The metrics of a whole report, for messages.
const GLOBAL_METRICS: &str =
    "error_rate, malformed_rate, requests, error_bodies, unknown_codes, incident, warning, p50, p90, p99, max";

/// The metrics of one code, for messages.
const CODE_METRICS: &str = "count, rate, incident, warning, p50, p90, p99, max";

/// `CTS.0003`, `APIGW.0301`, `cts.0003`: letters (and digits or `_`), a dot,
/// digits.
fn is_code_shaped(code: &str) -> bool {
    let Some((service, number)) = code.split_once('.') else {
        return false;
    };
    service.starts_with(|c: char| c.is_ascii_alphabetic())
        && service.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

fn metric(name: &str, for_code: bool) -> Option<Metric> {
    Some(match name {
        "error_rate" if !for_code => Metric::Rate,
        "malformed_rate" if !for_code => Metric::MalformedRate,
        "rate" if for_code => Metric::Rate,
        "count" if for_code => Metric::Count,
        "unknown_codes" if !for_code => Metric::UnknownCodes,
        "requests" if !for_code => Metric::Requests,
        "error_bodies" if !for_code => Metric::ErrorBodies,
        "p50" => Metric::Latency(Quantile::P50),
        "p90" => Metric::Latency(Quantile::P90),
        "p99" => Metric::Latency(Quantile::P99),
        "max" => Metric::Latency(Quantile::Max),
        "incident" => Metric::Rated(TraceRating::Incident),
        "warning" => Metric::Rated(TraceRating::Warning),
        _ => return None,
    })
}

/// The threshold in the rule's unit: ms for latencies (to the
/// microsecond, the finest a latency is kept), a fraction for rates.
fn threshold(metric: Metric, value: &str) -> Option<f64> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let share = metric.is_share();
    let latency = matches!(metric, Metric::Latency(_));
    let us_per_unit = match unit {
        "" | "ms" if latency => 1_000.0,
        "s" if latency => 1_000_000.0,
        "us" | "µs" if latency => 1.0,
        "%" if share => return Some(number / 100.0),
        "" if !latency => return Some(number),
        _ => return None,
    };
    Some((number * us_per_unit).round() / 1000.0)
}

fn pick(latency: &LatencyReport, quantile: Quantile) -> Observed {
    match quantile {
        Quantile::P50 => Observed::percentile(latency.p50, latency),
        Quantile::P90 => Observed::percentile(latency.p90, latency),
        Quantile::P99 => Observed::percentile(latency.p99, latency),
        Quantile::Max => Observed::exact(latency.max),
    }
}

/// `120.000` → `120`, `0.120` → `0.12`.
fn trim_zeros(number: &str) -> &str {
    if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { number }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let rule = Rule::parse("error_rate > 0.5%").unwrap();
        assert_eq!((rule.code, rule.metric, rule.op, rule.threshold), (None, Metric::Rate, Op::Above, 0.005));
        let rule = Rule::parse("CTS.0004>0").unwrap();
        assert_eq!((rule.code.as_deref(), rule.metric), (Some("CTS.0004"), Metric::Count));
        let rule = Rule::parse("p99>2s").unwrap();
        assert_eq!((rule.metric, rule.threshold), (Metric::Latency(Quantile::P99), 2000.0));
        let rule = Rule::parse("CTS.0003:p99>=500ms").unwrap();
        assert_eq!((rule.code.as_deref(), rule.op, rule.threshold), (Some("CTS.0003"), Op::AtLeast, 500.0));
        assert_eq!(Rule::parse("unknown_codes>0").unwrap().metric, Metric::UnknownCodes);
        assert_eq!(Rule::parse("APIGW.0301:rate<=1%").unwrap().threshold, 0.01);
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["p99", "p99>fast", "error_rate>2s", "CTS.0003:p42>1", ":count>1", "p99>5%", "CTS.0003>1ms"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_rules_that_could_never_or_always_fire() {
        let message = |rule: &str| Rule::parse(rule).unwrap_err().to_string();
        assert!(message("CTS0003>0").contains("'CTS0003' is neither a metric"), "{}", message("CTS0003>0"));
        assert!(message("request<100").contains("neither a metric"));
        assert!(message("error_rate>50").contains("did you mean 50%?"));
        assert!(message("error_rate>150%").contains("cannot exceed 100%"));
        assert!(message("CTS.0003:rate>2").contains("did you mean 2%?"));
        assert!(message("CTS.0003:requests>2").contains("known: count, rate"));
        assert_eq!(Rule::parse("requests<100").unwrap().metric, Metric::Requests);
        assert_eq!(Rule::parse("error_bodies>=1").unwrap().metric, Metric::ErrorBodies);
        assert_eq!(Rule::parse("error_rate>1").unwrap().threshold, 1.0);
        assert_eq!(Rule::parse("cts.0003>0").unwrap().code.as_deref(), Some("cts.0003"));
        assert_eq!(Rule::parse("malformed_rate>1%").unwrap().metric, Metric::MalformedRate);
        assert!(message("malformed_rate>5").contains("did you mean 5%?"));
        assert!(message("CTS.0003:malformed_rate>1%").contains("unknown metric"));
    }

    /// An aggregate with every kind of figure a rule can name: codes in
    /// the catalogue and not, with and without latency, one seen only in a
    /// malformed line, codes beyond the distinct-code limit, malformed
    /// lines.
    fn varied_aggregate(precision: crate::aggregate::Precision) -> Aggregate {
        use crate::aggregate::{Collect, LinePosition};
        use crate::extract::ErrorBody;
        use crate::record::{Malformed, Record};
        let collect = Collect { latency: precision, ..Collect::default() };
        let position = LinePosition { file: 0, block: 0, line: 0 };
        fn body(code: &str) -> Option<ErrorBody<'_>> {
            Some(ErrorBody { code, message: None, status: None, request_id: None })
        }
        let mut agg = Aggregate::default();
        let mut add = |latency_us: Option<u64>, code: Option<&str>| {
            let record = Record { status: Some(200), latency_us, ..Record::default() };
            agg.add_record(&record, code.and_then(body), position, &collect);
        };
        for i in 0..200 {
            add(Some(1_000 + i * 37), None);
        }
        for i in 0..7 {
            add(Some(40_000 + i * 90_001), Some("CTS.0003"));
        }
        for _ in 0..3 {
            add(Some(1_500), Some("CTS.0004"));
        }
        add(Some(2_000_000), Some("APIGW.0301"));
        // Without any latency.
        add(None, Some("CTS.0012"));
        add(None, None);
        agg.add_malformed(Malformed::Truncated, position, body("CTS.0209"));
        agg.add_malformed(Malformed::Truncated, position, None);
        agg.lines = agg.requests + 2;
        agg
    }

    /// Every form of rule, each metric with each operator somewhere.
    const EVERY_RULE: &[&str] = &[
        "error_rate>0.5%",
        "error_rate<=1",
        "error_rate<5%",
        "malformed_rate>0.5%",
        "malformed_rate>=50%",
        "unknown_codes>0",
        "unknown_codes>=2",
        "requests<100",
        "requests>=1",
        "error_bodies>1000",
        "error_bodies>=1",
        "p50>1ms",
        "p50<=2ms",
        "p90>=2ms",
        "p99>2s",
        "p99<5ms",
        "max>=1.1s",
        "max<10ms",
        "CTS.0004>0",
        "CTS.0004>=3",
        "CTS.0004:rate>1%",
        "CTS.0003:count>=100",
        "CTS.0003:rate<=50%",
        "CTS.0003:p99>500ms",
        "CTS.0003:p50<1ms",
        "CTS.0003:p90>=100ms",
        "CTS.0003:max>=1ms",
        "APIGW.0301>0",
        "APIGW.0301:p99>1ms",
        "CTS.0012:p99>1ms",
        "CTS.0209>0",
        "CTS.0209:p99>1ms",
        "CTS.9999>0",
        "CTS.9999:p99>1ms",
        "CTS.9999:rate<1%",
    ];

    #[test]
    fn an_aggregate_and_its_report_give_every_rule_the_same_verdict() {
        use crate::aggregate::{Collect, Precision};
        use crate::filter::Filter;
        use crate::state::State;
        let rules: Vec<Rule> = EVERY_RULE.iter().map(|r| Rule::parse(r).unwrap()).collect();
        let mut beyond_limit = varied_aggregate(Precision::Live);
        for i in 0..=crate::aggregate::MAX_CODES {
            let body =
                crate::extract::ErrorBody { code: &format!("X.{i:05}"), message: None, status: None, request_id: None };
            let record = crate::record::Record::default();
            let position = crate::aggregate::LinePosition { file: 0, block: 0, line: 0 };
            beyond_limit.add_record(&record, Some(body), position, &Collect::default());
        }
        assert!(beyond_limit.other_codes.is_some());
        let aggregates =
            [Aggregate::default(), varied_aggregate(Precision::Exact), varied_aggregate(Precision::Live), beyond_limit];
        for agg in aggregates {
            let state = State::new(Vec::new(), Vec::new(), Filter::default(), Collect::default(), None, agg.clone());
            let report = Report::of(&state);
            for rule in &rules {
                assert_eq!(rule.verdict(&agg), rule.verdict(&report), "{}", rule.text);
                assert_eq!(rule.observed_text(&agg), rule.observed_text(&report), "{}", rule.text);
            }
            assert_eq!(judge(&rules, &agg), judge(&rules, &report));
        }
        // The varied aggregate gives every verdict.
        let judgement = judge(&rules, &varied_aggregate(Precision::Exact));
        assert!(judgement.breaches.len() > 10 && judgement.unjudged.len() == 1, "{judgement:?}");
        assert_eq!(judgement.unjudged[0].rule, "CTS.0012:p99>1ms");
        let judgement = judge(&rules, &Aggregate::default());
        assert_eq!(judgement.unjudged.len(), 7, "the 7 latency rules over all requests: {judgement:?}");
    }

    #[test]
    fn latency_thresholds_are_kept_to_the_microsecond() {
        assert_eq!(Rule::parse("max>=1.1s").unwrap().threshold, 1100.0);
        assert_eq!(Rule::parse("p99>250us").unwrap().threshold, 0.25);
        assert_eq!(Rule::parse("error_rate>12.5%").unwrap().threshold, 0.125);
    }

    #[test]
    fn observed_values_are_rounded_to_what_is_known() {
        // Three significant digits, as the report prints percentiles.
        assert_eq!(ms_percentile_plain(313.984), "314");
        assert_eq!(ms_percentile_plain(30.008), "30.0");
        assert_eq!(ms_percentile_plain(1234.5), "1230");
        assert_eq!(ms_percentile_plain(0.05), "0.0500");
        assert_eq!(ms_percentile_plain(62.5), "62.5");
        assert_eq!(ms_percentile_plain(0.0123456), "0.0123");
        assert_eq!(ms_percentile_plain(0.0), "0");
        assert_eq!(trim_zeros("120.000"), "120");
        assert_eq!(trim_zeros("0.120"), "0.12");
    }
}
