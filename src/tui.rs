//! The live view of `--follow` on a terminal (ratatui, crossterm): a
//! header with the inputs, throughput and the error rate now against its
//! baseline; one row per code with its windows, latency, NEW and started
//! markers and a sparkline; a pane with the selected code's catalogue entry
//! and what drives its spike. Every text that comes from a log is shown with
//! its control characters escaped, so a crafted line cannot drive the
//! terminal.

use std::time::Instant;

use cts_logscan::catalog;
use cts_logscan::escape::escape;
use cts_logscan::follow::{LiveCode, Snapshot};
use cts_logscan::report::Shift;
use cts_logscan::report::sparkline;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

/// How rows are sorted; `s` cycles through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// By count in the shortest window.
    Now,
    /// By count since following began.
    SinceStart,
    /// By p99 over the middle window.
    Latency,
    /// By code.
    Code,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Now => Sort::SinceStart,
            Sort::SinceStart => Sort::Latency,
            Sort::Latency => Sort::Code,
            Sort::Code => Sort::Now,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sort::Now => "now",
            Sort::SinceStart => "since start",
            Sort::Latency => "p99",
            Sort::Code => "code",
        }
    }
}

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing more than a redraw.
    Redraw,
    /// Leave the view and write the final report.
    Quit,
}

/// The view's own state: sort, selection, pause, the baseline reset.
#[derive(Debug)]
pub struct View {
    sort: Sort,
    selected: usize,
    paused: bool,
    detail: bool,
    /// The error rate `r` froze as the baseline.
    baseline: Option<f64>,
    /// The snapshot shown (kept while paused).
    shown: Option<Snapshot>,
    /// The previous snapshot's totals and time, for rates.
    previous: Option<(Instant, u64, u64)>,
    rates: (f64, f64),
    /// The latest alert, shown until the next.
    alert: Option<String>,
}

impl Default for View {
    fn default() -> Self {
        View::new()
    }
}

impl View {
    /// A view sorted by the shortest window.
    pub fn new() -> View {
        View {
            sort: Sort::Now,
            selected: 0,
            paused: false,
            detail: false,
            baseline: None,
            shown: None,
            previous: None,
            rates: (0.0, 0.0),
            alert: None,
        }
    }

    /// Shows an alert (the latest replaces the one before).
    pub fn alert(&mut self, text: String) {
        self.alert = Some(text);
    }

    /// Takes a new snapshot (ignored while paused, except for the rates).
    pub fn update(&mut self, snapshot: Snapshot) {
        let now = Instant::now();
        let totals = (snapshot.since_start.lines, snapshot.since_start.requests);
        if let Some((at, lines, requests)) = self.previous {
            let seconds = now.duration_since(at).as_secs_f64().max(1e-3);
            self.rates = ((totals.0 - lines) as f64 / seconds, (totals.1 - requests) as f64 / seconds);
        }
        self.previous = Some((now, totals.0, totals.1));
        if !self.paused || self.shown.is_none() {
            self.shown = Some(snapshot);
        }
    }

    /// Handles a key.
    pub fn key(&mut self, key: KeyEvent) -> Action {
        let rows = self.shown.as_ref().map_or(0, |s| s.codes.len());
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return Action::Quit,
            KeyCode::Char('p') => self.paused = !self.paused,
            KeyCode::Char('s') => self.sort = self.sort.next(),
            KeyCode::Char('r') => {
                self.baseline = self.shown.as_ref().and_then(|s| s.error_rate.now);
            }
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(rows.saturating_sub(1)),
            KeyCode::Enter => self.detail = !self.detail,
            KeyCode::Esc => self.detail = false,
            _ => {}
        }
        Action::Redraw
    }

    /// The codes in the view's order.
    fn codes<'s>(&self, snapshot: &'s Snapshot) -> Vec<&'s LiveCode> {
        let mut codes: Vec<&LiveCode> = snapshot.codes.iter().collect();
        let now = |c: &LiveCode| c.windows.first().map_or(0, |w| w.count);
        let p99 = |c: &LiveCode| c.latency_ms.as_ref().map_or(0.0, |l| l.p99);
        match self.sort {
            Sort::Now => {}
            Sort::SinceStart => codes.sort_by(|a, b| b.since_start.cmp(&a.since_start).then(now(b).cmp(&now(a)))),
            Sort::Latency => codes.sort_by(|a, b| p99(b).total_cmp(&p99(a))),
            Sort::Code => codes.sort_by(|a, b| a.code.cmp(&b.code)),
        }
        codes
    }

    /// Draws the view.
    pub fn draw(&self, frame: &mut Frame<'_>) {
        let Some(snapshot) = &self.shown else { return };
        let area = frame.area();
        let detail_height = if self.detail { (area.height / 2).max(8) } else { 0 };
        let [header, table, detail, footer] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Min(3),
            Constraint::Length(detail_height),
            Constraint::Length(if self.alert.is_some() { 2 } else { 1 }),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.header(snapshot)), header);
        let codes = self.codes(snapshot);
        self.table(frame, table, snapshot, &codes);
        if self.detail
            && let Some(code) = codes.get(self.selected.min(codes.len().saturating_sub(1)))
        {
            frame.render_widget(detail_pane(code), detail);
        }
        let keys = Line::styled(
            format!(
                "q quit · p {} · s sort: {} · ↑↓ select · Enter details · r reset baseline",
                if self.paused { "resume (paused)" } else { "pause" },
                self.sort.name()
            ),
            Style::default().fg(Color::DarkGray),
        );
        let mut lines = Vec::new();
        if let Some(alert) = &self.alert {
            lines.push(Line::styled(escape(alert), Style::default().fg(Color::Red)));
        }
        lines.push(keys);
        frame.render_widget(Paragraph::new(lines), footer);
    }

    fn header(&self, snapshot: &Snapshot) -> Vec<Line<'static>> {
        let inputs: Vec<String> =
            snapshot.inputs.iter().map(|i| format!("{} ({})", escape(&i.path), i.state)).collect();
        let rate = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{:.2} %", r * 100.0));
        let baseline = match self.baseline {
            Some(frozen) => format!("{} (reset)", rate(Some(frozen))),
            None => rate(snapshot.error_rate.baseline),
        };
        vec![
            Line::from(vec![
                Span::styled("cts-logscan --follow", Style::default().add_modifier(Modifier::BOLD)),
                Span::raw(format!(" · {}", inputs.join(", "))),
            ]),
            Line::from(format!(
                "{:.0} lines/s · {:.0} requests/s · window end {} · {} requests since start",
                self.rates.0,
                self.rates.1,
                snapshot.window_end.as_deref().map_or("-", |t| t.get(11..19).unwrap_or(t)),
                snapshot.since_start.requests,
            )),
            Line::from(vec![
                Span::raw(format!(
                    "error rate {}: {} · baseline {}",
                    snapshot.error_rate.window,
                    rate(snapshot.error_rate.now),
                    baseline
                )),
                // Requests stamped ahead of the clock or too old for the
                // windows: counted since the start only.
                Span::styled(
                    match snapshot.since_start.out_of_window {
                        0 => String::new(),
                        n => format!(" · {n} out of window"),
                    },
                    Style::default().fg(Color::Yellow),
                ),
                // CTS traces rated incident or warning since the start.
                Span::styled(
                    snapshot
                        .since_start
                        .trace_ratings
                        .map_or(String::new(), |r| format!(" · traces {} incident, {} warning", r.incident, r.warning)),
                    Style::default().fg(Color::Red),
                ),
            ]),
        ]
    }

    fn table(&self, frame: &mut Frame<'_>, area: Rect, snapshot: &Snapshot, codes: &[&LiveCode]) {
        let windows: Vec<String> = snapshot.windows.iter().map(|w| w.to_uppercase()).collect();
        let mut header: Vec<String> = vec!["CODE".to_owned()];
        header.extend(windows.iter().cloned());
        header.extend([
            "/1K".to_owned(),
            "P99 MS".to_owned(),
            "TOTAL".to_owned(),
            "".to_owned(),
            "PER MINUTE".to_owned(),
        ]);
        // Columns and the one-cell spacing between them; the sparkline gets
        // what is left, up to its 30 minutes.
        let columns = 6 + windows.len() as u16;
        let fixed: u16 = 11 + 6 * windows.len() as u16 + 7 + 7 + 8 + 14 + (columns - 1);
        let spark_width = area.width.saturating_sub(fixed).min(30) as usize;
        let rows = codes.iter().map(|code| {
            let mut cells: Vec<Cell> = vec![Cell::from(escape(&code.code))];
            cells.extend(code.windows.iter().map(|w| Cell::from(w.count.to_string())));
            cells.push(Cell::from(
                code.windows.first().and_then(|w| w.per_1k).map_or("-".to_owned(), |r| format!("{r:.1}")),
            ));
            cells.push(Cell::from(code.latency_ms.as_ref().map_or("-".to_owned(), |l| format!("{:.0}", l.p99))));
            cells.push(Cell::from(code.since_start.to_string()));
            let mut flags = Vec::new();
            if code.new {
                flags.push("NEW".to_owned());
            }
            if let Some(started) = &code.started {
                flags.push(format!("↑{}", started.get(11..19).unwrap_or(started)));
            }
            if !code.new_messages.is_empty() {
                flags.push("+MSG".to_owned());
            }
            cells.push(Cell::from(flags.join(" ")));
            cells.push(Cell::from(sparkline(&code.sparkline[code.sparkline.len().saturating_sub(spark_width)..])));
            let style = if !code.in_catalog {
                Style::default().fg(Color::Yellow)
            } else if code.started.is_some() {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            Row::new(cells).style(style)
        });
        let mut widths = vec![Constraint::Length(11)];
        widths.extend(windows.iter().map(|_| Constraint::Length(6)));
        widths.extend([
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(8),
            Constraint::Length(14),
            Constraint::Length(spark_width as u16),
        ]);
        let table = Table::new(rows, widths)
            .header(Row::new(header).style(Style::default().add_modifier(Modifier::BOLD)))
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .block(Block::default().borders(Borders::TOP).title(format!(
                " {} codes, sorted by {} ",
                codes.len(),
                self.sort.name()
            )));
        let mut state = TableState::default().with_selected(Some(self.selected.min(codes.len().saturating_sub(1))));
        frame.render_stateful_widget(table, area, &mut state);
    }
}

/// The selected code's catalogue entry and what drives its spike.
fn detail_pane(code: &LiveCode) -> Paragraph<'static> {
    let mut lines = Vec::new();
    match catalog::lookup(&code.code) {
        Some(info) => {
            lines.push(Line::from(format!("{} (HTTP {}): {}", info.code, info.http_status, info.message)));
            lines.push(Line::from(format!("What it means: {}", info.description_text())));
            lines.push(Line::from(format!("What to do: {}", info.solution_text())));
        }
        None => lines.push(Line::from(format!("{} is not in the CTS catalogue.", escape(&code.code)))),
    }
    match &code.attribution {
        Some(attribution) => {
            let list = |shifts: &[Shift]| {
                if shifts.is_empty() {
                    return "-".to_owned();
                }
                shifts
                    .iter()
                    .map(|s| {
                        format!(
                            "{} {} ({:.0} % now, {:.0} % before)",
                            escape(&s.name),
                            s.now,
                            s.share_now * 100.0,
                            s.share_baseline * 100.0
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            lines.push(Line::from("What drives the spike:"));
            lines.push(Line::from(format!("  endpoints {}", list(&attribution.endpoints))));
            lines.push(Line::from(format!("  projects  {}", list(&attribution.projects))));
            lines.push(Line::from(format!("  clients   {}", list(&attribution.clients))));
            for (field, shifts) in &attribution.by {
                lines.push(Line::from(format!("  {:<9} {}", escape(field), list(shifts))));
            }
        }
        None => lines.push(Line::from("No spike: nothing to attribute.")),
    }
    for message in &code.new_messages {
        lines.push(Line::from(format!("New message: {}", escape(message))));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .block(Block::default().borders(Borders::TOP).title(format!(" {} ", escape(&code.code))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cts_logscan::follow::{Attribution, LiveInput, WindowCount, WindowLatency};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn snapshot() -> Snapshot {
        let code = |name: &str, now: u64, total: u64, new: bool| LiveCode {
            code: name.to_owned(),
            in_catalog: catalog::lookup(name).is_some(),
            new,
            since_start: total,
            first_seen: Some("2026-11-27T10:00:00.000Z".to_owned()),
            windows: ["1m", "5m", "15m"]
                .iter()
                .map(|w| WindowCount { window: (*w).to_owned(), count: now, per_1k: Some(now as f64) })
                .collect(),
            latency_ms: Some(WindowLatency { window: "5m".to_owned(), p50: 12.0, p99: 850.0 }),
            started: new.then(|| "2026-11-27T10:14:20.000Z".to_owned()),
            sparkline: (0..30).map(|i| if new { i } else { 1 }).collect(),
            attribution: new.then(|| Attribution {
                endpoints: vec![Shift {
                    name: "POST /v3/{id}/tracker\x1b[2J".to_owned(),
                    now: 9,
                    baseline: 1,
                    share_now: 0.9,
                    share_baseline: 0.1,
                }],
                ..Attribution::default()
            }),
            new_messages: if new { vec!["Tracker <*> does not exist.".to_owned()] } else { Vec::new() },
        };
        Snapshot {
            snapshot_version: 1,
            time: "2026-11-27T10:15:00.000Z".to_owned(),
            window_end: Some("2026-11-27T10:15:00.000Z".to_owned()),
            inputs: vec![LiveInput { path: "access.log".to_owned(), state: "following".to_owned(), bytes: 10 }],
            since_start: cts_logscan::follow::Totals {
                lines: 100,
                requests: 90,
                error_bodies: 30,
                malformed: 1,
                out_of_window: 0,
                trace_ratings: Some(cts_logscan::aggregate::RatingCounts { normal: 80, warning: 7, incident: 3 }),
            },
            windows: vec!["1m".to_owned(), "5m".to_owned(), "15m".to_owned()],
            error_rate: cts_logscan::follow::ErrorRate {
                window: "1m".to_owned(),
                now: Some(0.2),
                baseline: Some(0.05),
            },
            codes: vec![
                code("CTS.0004", 12, 20, true),
                code("CTS.0003", 3, 9, false),
                code("APIGW.0301\x07", 1, 1, false),
            ],
            alerts: Vec::new(),
        }
    }

    fn screen(width: u16, height: u16, view: &View) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| view.draw(frame)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>()).collect()
    }

    #[test]
    fn the_view_at_80_by_24() {
        let mut view = View::new();
        view.update(snapshot());
        let lines = screen(80, 24, &view);
        assert!(lines[0].starts_with("cts-logscan --follow · access.log (following)"), "{lines:#?}");
        assert!(lines[2].contains("error rate 1m: 20.00 % · baseline 5.00 %"), "{lines:#?}");
        assert!(lines[2].contains("· traces 3 incident, 7 warning"), "{lines:#?}");
        assert!(!lines[2].contains("out of window"), "{}", lines[2]);
        let row = lines.iter().find(|l| l.starts_with("CTS.0004")).unwrap();
        assert!(row.contains("NEW ↑10:14:20"), "{row}");
        assert!(lines.iter().any(|l| l.starts_with("APIGW.0301\\")), "control characters are escaped: {lines:#?}");
        assert!(!lines.concat().contains('\x07'));
        assert!(lines[23].starts_with("q quit · p pause · s sort: now"), "{}", lines[23]);
    }

    #[test]
    fn requests_out_of_window_are_counted_in_the_header() {
        let mut view = View::new();
        let mut stamped_ahead = snapshot();
        stamped_ahead.since_start.out_of_window = 2;
        view.update(stamped_ahead);
        let lines = screen(80, 24, &view);
        assert!(lines[2].contains("error rate 1m: 20.00 % · baseline 5.00 %"), "{}", lines[2]);
        assert!(lines[2].contains("· 2 out of window"), "{}", lines[2]);
    }

    #[test]
    fn the_view_at_200_by_50_with_details_and_keys() {
        let mut view = View::new();
        view.update(snapshot());
        let press = |view: &mut View, code| view.key(KeyEvent::new(code, KeyModifiers::NONE));
        press(&mut view, KeyCode::Enter);
        let lines = screen(200, 50, &view);
        assert!(lines.iter().any(|l| l.contains("CTS.0004 (HTTP 500): Data write exception.")), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("POST /v3/{id}/tracker\\u001b[2J 9 (90 % now, 10 % before)")));
        let spark = lines.iter().find(|l| l.starts_with("CTS.0004")).unwrap();
        assert!(spark.contains('█'), "{spark}");
        press(&mut view, KeyCode::Char('s'));
        press(&mut view, KeyCode::Down);
        press(&mut view, KeyCode::Char('p'));
        press(&mut view, KeyCode::Char('r'));
        let lines = screen(200, 50, &view);
        assert!(lines.iter().any(|l| l.contains("sorted by since start")), "{lines:#?}");
        assert!(lines[2].contains("baseline 20.00 % (reset)"), "{}", lines[2]);
        assert!(lines[49].contains("p resume (paused)"));
        assert_eq!(press(&mut view, KeyCode::Char('q')), Action::Quit);
    }
}
