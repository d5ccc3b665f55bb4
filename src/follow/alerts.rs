//! `--alert` rules for `--follow`: the `--fail-on` grammar over a window
//! (`CTS.0004>10/5m`, `error_rate>2%/5m`, `CTS.0003:p99>2s/5m`), and
//! `new_code`, a code not seen before following began (the codes the live
//! view marks NEW, [`super::Follower::new_codes`]).
//!
//! A rule is judged over the merged aggregate of its window
//! ([`crate::rules::Figures`]), by the same code as `--fail-on` judges a
//! report, without building a state or a report; rules over the same
//! window share one merge per check.
//!
//! Windows end on the wall clock ([`super::windows`]), so a line stamped
//! far ahead or behind neither silences nor fires an alert, and a rule
//! stops holding when its traffic stops and the clock moves on. An alert
//! fires once when its rule starts to hold and resolves once it has not
//! held for a whole window; a `new_code` alert fires once per code and
//! resolves when that code has not been seen for the middle window; it
//! does not fire again for that code.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::windows::{Windows, label};
use crate::aggregate::Aggregate;
use crate::error::Error;
use crate::filter::parse_duration;
use crate::lex::time::format_rfc3339;
use crate::rules::Rule;

/// One `--alert`.
#[derive(Clone, Debug)]
pub struct AlertRule {
    text: String,
    kind: AlertKind,
}

#[derive(Clone, Debug)]
enum AlertKind {
    /// A `--fail-on` rule over a window, in milliseconds.
    Threshold { rule: Rule, window: i64 },
    /// A code not seen before following began.
    NewCode,
}

impl AlertRule {
    /// Parses `RULE/WINDOW` (`CTS.0004>10/5m`) or `new_code`.
    ///
    /// # Errors
    ///
    /// When the rule or the window does not parse, naming what is wrong.
    pub fn parse(text: &str) -> Result<AlertRule, Error> {
        if text.trim() == "new_code" {
            return Ok(AlertRule { text: text.to_owned(), kind: AlertKind::NewCode });
        }
        let Some((rule, window)) = text.rsplit_once('/') else {
            return Err(Error::invalid_value(
                text,
                "is not an alert: give a --fail-on rule and a window (CTS.0004>10/5m, error_rate>2%/5m) or new_code",
            ));
        };
        let window = parse_duration(window.trim())?;
        if window % super::BUCKET_MS != 0 {
            return Err(Error::invalid_value(text, "has a window that is not a multiple of 10 seconds"));
        }
        Ok(AlertRule { text: text.to_owned(), kind: AlertKind::Threshold { rule: Rule::parse(rule)?, window } })
    }

    /// The window this rule looks at, in milliseconds, if it has one.
    pub fn window(&self) -> Option<i64> {
        match &self.kind {
            AlertKind::Threshold { window, .. } => Some(*window),
            AlertKind::NewCode => None,
        }
    }
}

/// `firing` or `resolved`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The rule started to hold.
    Firing,
    /// The rule has not held for a whole window.
    Resolved,
}

/// An alert firing or resolving.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEvent {
    /// The rule as given.
    pub rule: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// What was observed, with its unit (`12`, `2.50 %`, `2100 ms`).
    pub value: String,
    /// The code the rule is about, if any.
    pub code: Option<String>,
    /// The window looked at (`5m`).
    pub window: String,
    /// The end of the windows when it was checked (on the wall clock, RFC
    /// 3339).
    pub time: String,
}

/// The rules and whether each is firing.
#[derive(Debug, Default)]
pub struct Alerts {
    rules: Vec<(AlertRule, Watch)>,
    /// `new_code`: the codes announced, and those still firing with when
    /// last seen.
    announced: BTreeSet<String>,
    new_firing: Vec<(String, i64)>,
}

/// Whether a threshold rule fires, and since when it stopped holding.
#[derive(Clone, Copy, Debug, Default)]
struct Watch {
    firing: bool,
    clear_since: Option<i64>,
}

impl Alerts {
    /// Alerts for `rules`.
    pub fn new(rules: Vec<AlertRule>) -> Alerts {
        Alerts { rules: rules.into_iter().map(|r| (r, Watch::default())).collect(), ..Alerts::default() }
    }

    /// Whether there is any rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Each rule (as given) and whether it is firing now; `new_code` fires
    /// while a code new since following began is still seen.
    pub fn firing(&self) -> Vec<(&str, bool)> {
        let firing = |alert: &AlertRule, watch: &Watch| match alert.kind {
            AlertKind::Threshold { .. } => watch.firing,
            AlertKind::NewCode => !self.new_firing.is_empty(),
        };
        self.rules.iter().map(|(alert, watch)| (alert.text.as_str(), firing(alert, watch))).collect()
    }

    /// Checks every rule against `windows` as they stand (moved to the
    /// wall clock by their last [`Windows::advance`]); `new_codes` are the
    /// codes seen since following began that were not known before.
    /// Returns the alerts that fired or resolved.
    pub fn check(&mut self, windows: &Windows, new_codes: &BTreeSet<String>) -> Vec<AlertEvent> {
        let Some(end) = windows.end_ms() else { return Vec::new() };
        let time = format_rfc3339(end);
        let mut events = Vec::new();
        // Each window merged once, for every rule over it.
        let mut merged: BTreeMap<i64, Aggregate> = BTreeMap::new();
        for (alert, watch) in &mut self.rules {
            match &alert.kind {
                AlertKind::Threshold { rule, window } => {
                    let figures = merge_once(&mut merged, windows, *window);
                    let breach = rule.check(figures);
                    let event = |state, value: String| AlertEvent {
                        rule: alert.text.clone(),
                        state,
                        value,
                        code: rule.code().map(str::to_owned),
                        window: label(*window),
                        time: time.clone(),
                    };
                    match (breach, watch.firing) {
                        (Some(breach), false) => {
                            *watch = Watch { firing: true, clear_since: None };
                            events.push(event(AlertState::Firing, breach.observed));
                        }
                        (Some(_), true) => watch.clear_since = None,
                        (None, true) => {
                            let since = *watch.clear_since.get_or_insert(end);
                            if end - since >= *window {
                                *watch = Watch::default();
                                events.push(event(AlertState::Resolved, rule.observed_text(figures)));
                            }
                        }
                        (None, false) => {}
                    }
                }
                AlertKind::NewCode => {
                    let window = windows.latency_window();
                    let recent = merge_once(&mut merged, windows, window);
                    for code in new_codes {
                        if self.announced.insert(code.clone()) {
                            self.new_firing.push((code.clone(), end));
                            events.push(AlertEvent {
                                rule: alert.text.clone(),
                                state: AlertState::Firing,
                                value: code.clone(),
                                code: Some(code.clone()),
                                window: label(window),
                                time: time.clone(),
                            });
                        }
                    }
                    for (code, last_seen) in &mut self.new_firing {
                        if recent.codes.contains_key(code.as_str()) {
                            *last_seen = end;
                        }
                    }
                    let (resolved, firing): (Vec<_>, Vec<_>) =
                        self.new_firing.drain(..).partition(|(_, last_seen)| end - *last_seen >= window);
                    self.new_firing = firing;
                    for (code, _) in resolved {
                        events.push(AlertEvent {
                            rule: alert.text.clone(),
                            state: AlertState::Resolved,
                            value: code.clone(),
                            code: Some(code),
                            window: label(window),
                            time: time.clone(),
                        });
                    }
                }
            }
        }
        events
    }
}

/// The requests of the last `length` ms of `windows`, merged on the first
/// call for that length.
fn merge_once<'m>(merged: &'m mut BTreeMap<i64, Aggregate>, windows: &Windows, length: i64) -> &'m Aggregate {
    merged.entry(length).or_insert_with(|| windows.window(length))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follow::windows::add_test_request;

    /// 2026-11-27T00:00:00Z.
    const T0: i64 = 1_795_737_600_000;

    /// 2099-06-01T00:00:00Z.
    const FAR_FUTURE: i64 = 4_083_955_200_000;

    /// A request logged at `time_ms` and read at once.
    fn request(windows: &mut Windows, time_ms: i64, code: Option<&str>) {
        add_test_request(windows, time_ms, code, time_ms);
    }

    /// Every 10 s from `from_s` to `to_s` seconds after `T0`: `traffic`
    /// (the requests of that moment, read at once), then a check; the
    /// events with the second they came at.
    fn run(
        windows: &mut Windows,
        alerts: &mut Alerts,
        seconds: std::ops::Range<i64>,
        traffic: impl Fn(i64) -> Vec<Option<&'static str>>,
    ) -> Vec<(i64, AlertState, String)> {
        let mut log = Vec::new();
        for second in seconds.step_by(10) {
            let t = T0 + second * 1000;
            windows.advance(t);
            for code in traffic(second) {
                request(windows, t, code);
            }
            for event in alerts.check(windows, &BTreeSet::new()) {
                log.push((second, event.state, event.value));
            }
        }
        log
    }

    #[test]
    fn fires_once_and_resolves_after_a_whole_window_below() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("CTS.0004>2/1m").unwrap()]);
        // Three CTS.0004 every 10 s from 60 s to 120 s, else three without.
        let log =
            run(&mut windows, &mut alerts, 0..600, |second| vec![(60..120).contains(&second).then_some("CTS.0004"); 3]);
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!((log[0].0, log[0].1, log[0].2.as_str()), (60, AlertState::Firing, "3"));
        assert_eq!(log[1].1, AlertState::Resolved);
        // The last burst bucket (110 s) leaves the 1-minute window at the
        // check of 170 s (windows end at 180 s); a whole minute below after
        // that is the check of 230 s.
        assert_eq!(log[1].0, 230);
    }

    #[test]
    fn a_line_stamped_2099_does_not_silence_an_alert() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("CTS.0004>2/1m").unwrap()]);
        add_test_request(&mut windows, FAR_FUTURE, None, T0);
        assert!(alerts.check(&windows, &BTreeSet::new()).is_empty());
        // 30 % CTS.0004 from then on: 3 of 10 requests every 10 s.
        let log = run(&mut windows, &mut alerts, 0..120, |_| (0..10).map(|i| (i < 3).then_some("CTS.0004")).collect());
        assert_eq!(log, [(0, AlertState::Firing, "3".to_owned())]);
        assert_eq!((windows.out_of_window(), windows.end_ms()), (1, Some(T0 + 120_000)));
        assert_eq!(windows.window(60_000).codes["CTS.0004"].count, 18);
    }

    #[test]
    fn a_line_stamped_1950_neither_fires_nor_resolves_an_alert() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("requests>=1/1m").unwrap()]);
        windows.advance(T0);
        // 1950-01-01T00:00:00Z.
        add_test_request(&mut windows, -631_152_000_000, Some("CTS.0004"), T0);
        assert!(alerts.check(&windows, &BTreeSet::new()).is_empty());
        assert_eq!((windows.out_of_window(), windows.end_ms()), (1, Some(T0 + 10_000)));
    }

    #[test]
    fn an_alert_resolves_when_traffic_stops_and_the_clock_moves_on() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![
            AlertRule::parse("CTS.0004>2/1m").unwrap(),
            AlertRule::parse("error_rate>10%/1m").unwrap(),
        ]);
        // A burst in the first 30 s, then nothing at all: no line is read,
        // only the clock goes on.
        let log =
            run(
                &mut windows,
                &mut alerts,
                0..300,
                |second| {
                    if second < 30 { vec![Some("CTS.0004"); 3] } else { Vec::new() }
                },
            );
        let fired: Vec<_> = log.iter().filter(|e| e.1 == AlertState::Firing).map(|e| e.0).collect();
        let resolved: Vec<_> = log.iter().filter(|e| e.1 == AlertState::Resolved).collect();
        assert_eq!(fired, [0, 0], "{log:?}");
        // The last burst bucket (20 s) leaves the 1-minute window at 80 s;
        // a whole minute below after that is 140 s. With no request, the
        // error rate is unknown and holds no more.
        assert_eq!(resolved.len(), 2, "{log:?}");
        assert!(resolved.iter().all(|e| e.0 == 140), "{log:?}");
        assert_eq!(resolved[0].2, "0");
        assert_eq!(resolved[1].2, "-");
        assert_eq!(windows.window(900_000).requests, 9);
    }

    #[test]
    fn rules_over_one_window_judge_one_merge_as_a_report_would() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let rules = ["CTS.0003:p99>0.5ms/1m", "CTS.0003>=2/1m", "error_rate>60%/1m", "p50>=2ms/5m", "requests<1/15m"];
        let mut alerts = Alerts::new(rules.iter().map(|r| AlertRule::parse(r).unwrap()).collect());
        for i in 0..3 {
            request(&mut windows, T0 + i, Some("CTS.0003"));
        }
        request(&mut windows, T0 + 5, None);
        let events = alerts.check(&windows, &BTreeSet::new());
        let fired: Vec<(&str, &str)> = events.iter().map(|e| (e.rule.as_str(), e.value.as_str())).collect();
        assert_eq!(
            fired,
            [("CTS.0003:p99>0.5ms/1m", "1.00 ms"), ("CTS.0003>=2/1m", "3"), ("error_rate>60%/1m", "75.0 %")]
        );
    }

    #[test]
    fn new_codes_fire_once_even_after_they_resolve() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("new_code").unwrap()]);
        let t0 = T0;
        request(&mut windows, t0, Some("CTS.0003"));
        let mut new_codes = BTreeSet::new();
        assert!(alerts.check(&windows, &new_codes).is_empty());
        request(&mut windows, t0 + 10_000, Some("CTS.0209"));
        new_codes.insert("CTS.0209".to_owned());
        let events = alerts.check(&windows, &new_codes);
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].state, events[0].code.as_deref()), (AlertState::Firing, Some("CTS.0209")));
        assert!(alerts.check(&windows, &new_codes).is_empty());
        // Five minutes (the middle window) without it: resolved, once.
        windows.advance(t0 + 320_000);
        let events = alerts.check(&windows, &new_codes);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].state, AlertState::Resolved);
        // Seen again: it is not new any more.
        request(&mut windows, t0 + 330_000, Some("CTS.0209"));
        assert!(alerts.check(&windows, &new_codes).is_empty());
    }

    #[test]
    fn rules_need_a_window() {
        assert!(
            AlertRule::parse("CTS.0004>10").unwrap_err().to_string().contains("give a --fail-on rule and a window")
        );
        assert!(AlertRule::parse("CTS0004>10/5m").is_err());
        assert!(AlertRule::parse("error_rate>2%/5m").is_ok());
        assert_eq!(AlertRule::parse("CTS.0003:p99>2s/5m").unwrap().window(), Some(300_000));
    }
}
