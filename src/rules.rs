//! `--fail-on` thresholds: rules evaluated against a finished report.
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
//!
//! Operators: `>`, `>=`, `<`, `<=`. Latencies take `us`, `ms` (the
//! default) or `s`; rates take `%` or a fraction of 1 (`0.5` is 50 %; `50`
//! is refused: did you mean `50%`?). The left side must be a metric or a
//! code-shaped name (`CTS.0003`, `APIGW.0301`), so a typo cannot make a
//! rule that never fires. A figure the report does not have (no latency
//! logged) never breaches. Rules see every code, also those a `--code`
//! filter hides from the report.

use std::fmt;

use crate::error::Error;
use crate::report::{CodeReport, LatencyReport, Report};

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
    Latency(Quantile),
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
        if metric == Metric::Rate && threshold > 1.0 {
            return Err(error(&if value.ends_with('%') {
                "a rate cannot exceed 100%".to_owned()
            } else {
                format!("a rate is a fraction of 1 or a percentage: did you mean {value}%?")
            }));
        }
        Ok(Rule { text: text.to_owned(), code, metric, op, threshold })
    }

    /// The value this rule looks at in `report`, in the rule's unit (ms for
    /// latencies, a fraction for rates), if the report has it.
    fn observe(&self, report: &Report) -> Option<f64> {
        let code = self.code.as_ref().map(|name| report.codes.iter().find(|c| &c.code == name));
        match (self.metric, code) {
            (Metric::UnknownCodes, _) => Some(report.summary.unknown_code_bodies as f64),
            (Metric::Requests, _) => Some(report.summary.requests as f64),
            (Metric::ErrorBodies, _) => Some(report.summary.error_bodies as f64),
            (Metric::Rate, None) => report.summary.error_rate,
            (Metric::Latency(q), None) => report.summary.latency_ms.all.as_ref().map(|l| pick(l, q)),
            (Metric::Count, Some(found)) => Some(found.map_or(0.0, |c| c.count as f64)),
            (Metric::Rate, Some(found)) => {
                let requests = report.summary.requests;
                (requests > 0).then(|| found.map_or(0.0, |c: &CodeReport| c.count as f64) / requests as f64)
            }
            (Metric::Latency(q), Some(found)) => found?.latency_ms.as_ref().map(|l| pick(l, q)),
            (Metric::Count, None) => None,
        }
    }

    /// The code this rule is about, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// What this rule observes in `report`, with its unit; `-` when the
    /// report does not have it.
    pub fn observed_text(&self, report: &Report) -> String {
        self.observe(report).map_or("-".to_owned(), |observed| self.show(observed))
    }

    fn show(&self, observed: f64) -> String {
        match self.metric {
            Metric::Rate => format!("{:.3} %", observed * 100.0),
            Metric::Latency(_) => format!("{observed} ms"),
            Metric::Count | Metric::UnknownCodes | Metric::Requests | Metric::ErrorBodies => format!("{observed}"),
        }
    }

    /// The breach, if `report` breaks this rule.
    pub fn check(&self, report: &Report) -> Option<Breach> {
        let observed = self.observe(report)?;
        let breached = match self.op {
            Op::Above => observed > self.threshold,
            Op::AtLeast => observed >= self.threshold,
            Op::Below => observed < self.threshold,
            Op::AtMost => observed <= self.threshold,
        };
        breached.then(|| Breach { rule: self.text.clone(), observed: self.show(observed) })
    }
}

/// Every rule `report` breaks, in the order given.
pub fn breaches(rules: &[Rule], report: &Report) -> Vec<Breach> {
    rules.iter().filter_map(|rule| rule.check(report)).collect()
}

/// The metrics of a whole report, for messages.
const GLOBAL_METRICS: &str = "error_rate, requests, error_bodies, unknown_codes, p50, p90, p99, max";

/// The metrics of one code, for messages.
const CODE_METRICS: &str = "count, rate, p50, p90, p99, max";

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
        "rate" if for_code => Metric::Rate,
        "count" if for_code => Metric::Count,
        "unknown_codes" if !for_code => Metric::UnknownCodes,
        "requests" if !for_code => Metric::Requests,
        "error_bodies" if !for_code => Metric::ErrorBodies,
        "p50" => Metric::Latency(Quantile::P50),
        "p90" => Metric::Latency(Quantile::P90),
        "p99" => Metric::Latency(Quantile::P99),
        "max" => Metric::Latency(Quantile::Max),
        _ => return None,
    })
}

fn threshold(metric: Metric, value: &str) -> Option<f64> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match (metric, unit) {
        (Metric::Rate, "%") => 0.01,
        (Metric::Rate, "") => 1.0,
        (Metric::Latency(_), "" | "ms") => 1.0,
        (Metric::Latency(_), "s") => 1000.0,
        (Metric::Latency(_), "us" | "µs") => 0.001,
        (Metric::Count | Metric::UnknownCodes | Metric::Requests | Metric::ErrorBodies, "") => 1.0,
        _ => return None,
    };
    Some(number * scale)
}

fn pick(latency: &LatencyReport, quantile: Quantile) -> f64 {
    match quantile {
        Quantile::P50 => latency.p50,
        Quantile::P90 => latency.p90,
        Quantile::P99 => latency.p99,
        Quantile::Max => latency.max,
    }
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
    }
}
