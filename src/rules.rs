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
//!
//! Operators: `>`, `>=`, `<`, `<=`. Latencies take `us`, `ms` (the
//! default) or `s`; rates take `%` or a fraction. A figure the report does
//! not have (no latency logged) never breaches.

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
        if code.as_deref() == Some("") {
            return Err(error("empty code before ':'"));
        }
        let metric = metric(metric_name, code.is_some()).ok_or_else(|| error("unknown metric"))?;
        let threshold =
            threshold(metric, value).ok_or_else(|| error("the value is not a number with a fitting unit"))?;
        Ok(Rule { text: text.to_owned(), code, metric, op, threshold })
    }

    /// The value this rule looks at in `report`, in the rule's unit (ms for
    /// latencies, a fraction for rates), if the report has it.
    fn observe(&self, report: &Report) -> Option<f64> {
        let code = self.code.as_ref().map(|name| report.codes.iter().find(|c| &c.code == name));
        match (self.metric, code) {
            (Metric::UnknownCodes, _) => Some(report.summary.unknown_code_bodies as f64),
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

    /// The breach, if `report` breaks this rule.
    pub fn check(&self, report: &Report) -> Option<Breach> {
        let observed = self.observe(report)?;
        let breached = match self.op {
            Op::Above => observed > self.threshold,
            Op::AtLeast => observed >= self.threshold,
            Op::Below => observed < self.threshold,
            Op::AtMost => observed <= self.threshold,
        };
        let shown = match self.metric {
            Metric::Rate => format!("{:.3} %", observed * 100.0),
            Metric::Latency(_) => format!("{observed} ms"),
            Metric::Count | Metric::UnknownCodes => format!("{observed}"),
        };
        breached.then(|| Breach { rule: self.text.clone(), observed: shown })
    }
}

/// Every rule `report` breaks, in the order given.
pub fn breaches(rules: &[Rule], report: &Report) -> Vec<Breach> {
    rules.iter().filter_map(|rule| rule.check(report)).collect()
}

fn metric(name: &str, for_code: bool) -> Option<Metric> {
    Some(match name {
        "error_rate" if !for_code => Metric::Rate,
        "rate" if for_code => Metric::Rate,
        "count" if for_code => Metric::Count,
        "unknown_codes" if !for_code => Metric::UnknownCodes,
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
        (Metric::Count | Metric::UnknownCodes, "") => 1.0,
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
}
