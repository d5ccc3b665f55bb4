//! `--alert` rules for `--follow`: the `--fail-on` grammar over a window
//! (`CTS.0004>10/5m`, `error_rate>2%/5m`, `CTS.0003:p99>2s/5m`), and
//! `new_code`, a code not seen before following began (the codes the live
//! view marks NEW, [`super::Follower::new_codes`]).
//!
//! An alert fires once when its rule starts to hold and resolves once when
//! it has not held for a whole window of log time; a `new_code` alert fires
//! once per code and resolves when that code has not been seen for the
//! middle window; it does not fire again for that code.

use std::collections::BTreeSet;

use serde::Serialize;

use super::snapshot::label;
use super::windows::Windows;
use crate::error::Error;
use crate::filter::{Filter, parse_duration};
use crate::lex::time::format_rfc3339;
use crate::report::Report;
use crate::rules::Rule;
use crate::state::State;

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
    /// When, in log time (RFC 3339).
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

    /// Checks every rule against `windows`; `new_codes` are the codes seen
    /// since following began that were not known before. Returns the
    /// alerts that fired or resolved.
    pub fn check(&mut self, windows: &Windows, new_codes: &BTreeSet<String>) -> Vec<AlertEvent> {
        let Some(end) = windows.end_ms() else { return Vec::new() };
        let time = format_rfc3339(end);
        let mut events = Vec::new();
        for (alert, watch) in &mut self.rules {
            match &alert.kind {
                AlertKind::Threshold { rule, window } => {
                    let report = Report::of(&State::new(
                        Vec::new(),
                        Vec::new(),
                        Filter::default(),
                        super::windows::LIVE,
                        None,
                        windows.window(*window),
                    ));
                    let breach = rule.check(&report);
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
                                events.push(event(AlertState::Resolved, rule.observed_text(&report)));
                            }
                        }
                        (None, false) => {}
                    }
                }
                AlertKind::NewCode => {
                    let window = windows.latency_window();
                    let recent = windows.window(window);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follow::windows::add_test_request as request;

    #[test]
    fn fires_once_and_resolves_after_a_whole_window_below() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("CTS.0004>2/1m").unwrap()]);
        let t0 = 1_795_737_600_000;
        let codes = BTreeSet::new();
        let mut log = Vec::new();
        for second in (0..600).step_by(10) {
            let t = t0 + second * 1000;
            // Three CTS.0004 every 10 s from 60 s to 120 s, else none.
            let burst = (60..120).contains(&second);
            for _ in 0..3 {
                request(&mut windows, t, burst.then_some("CTS.0004"));
            }
            for event in alerts.check(&windows, &codes) {
                log.push((second, event.state, event.value));
            }
        }
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!((log[0].0, log[0].1, log[0].2.as_str()), (60, AlertState::Firing, "3"));
        assert_eq!(log[1].1, AlertState::Resolved);
        // The last burst bucket (110 s) leaves the 1-minute window at the
        // check of 170 s (windows end at 180 s); a whole minute below after
        // that is the check of 230 s.
        assert_eq!(log[1].0, 230);
    }

    #[test]
    fn new_codes_fire_once_even_after_they_resolve() {
        let mut windows = Windows::new(vec![60_000, 300_000, 900_000]);
        let mut alerts = Alerts::new(vec![AlertRule::parse("new_code").unwrap()]);
        let t0 = 1_795_737_600_000;
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
        request(&mut windows, t0 + 320_000, None);
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
