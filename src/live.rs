//! `--follow`: the loop that polls the inputs, shows a snapshot at each
//! interval (the live view on a terminal, else a line of JSON unless
//! `--serve` hands it out over HTTP), raises alerts, and on `q`, Ctrl-C,
//! SIGTERM or (off a terminal) the end of every input writes the final
//! report like a batch scan.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cts_logscan::follow::{ALERTS_SHOWN, AlertEvent, AlertState, Alerts, Follower, Snapshot};
use cts_logscan::input::checkpoint::{self, Checkpoint, FileMark};
use cts_logscan::report::{Report, ReportOptions};
use cts_logscan::serve::metrics::{LiveFigures, render};
use cts_logscan::serve::{Published, Server};
use cts_logscan::state::{self, State};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::config::{Live, ScanConfig};
use crate::messages::say;
use crate::tui::{Action, View};

/// Follows the inputs of `config` until stopped.
pub fn run(config: &ScanConfig) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch for Ctrl-C")?;
    }
    let live = config.live();
    let delivery = config.delivery();
    // With --checkpoint, where an earlier follower or run stopped; saved at
    // every interval and on exit.
    let _held = config.checkpoint().map(checkpoint::lock).transpose()?;
    let mut checkpoint = match config.checkpoint() {
        Some(path) => Some((path, Checkpoint::read(path)?)),
        None => None,
    };
    let resume = checkpoint.as_ref().map(|(_, checkpoint)| checkpoint.clone()).unwrap_or_default();
    let mut follower = Follower::resume(config.sources(), config.follow_options(), resume)?;
    let serve = config.serve()?;
    let server = match &serve {
        Some(serve) => Some(Server::start(&serve.addr, serve.token.clone())?),
        None => None,
    };
    if let Some(server) = &server {
        // Said even with --quiet: with :0 this is where the port is told.
        say(format_args!("serving on http://{}/ (Prometheus: /metrics)", server.addr));
    }
    // With a checkpoint, /metrics counts on from where earlier followers
    // stopped.
    let counters_file = config.checkpoint().filter(|_| server.is_some()).map(counters_path);
    let earlier = counters_file.as_deref().and_then(earlier_counters);
    if !follower.has_events() && !delivery.quiet() {
        say(format_args!(
            "no filesystem events (inotify watches may be exhausted): checking every {} ms",
            live.poll_interval.as_millis()
        ));
    }
    let mut alerts = Alerts::new(live.alerts.clone());
    let mut children: Vec<Child> = Vec::new();
    let mut alerted = false;
    let mut recent_alerts: VecDeque<AlertEvent> = VecDeque::new();
    let mut last: Option<Instant> = None;
    let mut screen = if io::stdout().is_terminal() { Some(Screen::open()?) } else { None };
    let mut out = io::stdout();
    let mut quit = false;
    loop {
        follower.poll();
        let ended = follower.all_ended();
        let due = last.is_none_or(|at| at.elapsed() >= live.interval);
        if due || ended {
            let mut snapshot = follower.snapshot();
            for event in alerts.check(follower.windows(), &follower.new_codes()) {
                let text = announce(&event, &live, &mut children);
                match &mut screen {
                    Some(screen) => screen.view.alert(text),
                    None => say(&text),
                }
                alerted |= event.state == AlertState::Firing;
                if recent_alerts.len() == ALERTS_SHOWN {
                    recent_alerts.pop_front();
                }
                recent_alerts.push_back(event);
            }
            snapshot.alerts = recent_alerts.iter().cloned().collect();
            if let (Some(server), Some(serve)) = (&server, &serve) {
                let state = follower.state();
                let counters = counters(earlier.as_ref(), &state);
                server.hub.publish(publish(state, &counters, &snapshot, &alerts, serve.metrics_top)?);
                if let Some(path) = &counters_file {
                    crate::config::write_output(Some(path), |wtr| counters.write(wtr))?;
                }
            }
            match &mut screen {
                Some(screen) => {
                    screen.view.update(snapshot);
                    screen.draw()?;
                }
                None if server.is_some() => {}
                None => {
                    cts_logscan::escape::write_json(&mut out, &snapshot)?;
                    writeln!(out)?;
                    out.flush()?;
                }
            }
            last = Some(Instant::now());
            if let Some((path, checkpoint)) = &mut checkpoint {
                save(path, checkpoint, follower.marks())?;
            }
        }
        children.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        let stopping = stop.load(Ordering::Relaxed) || (live.exit_on_alert && alerted);
        if quit || stopping || (ended && screen.is_none()) {
            break;
        }
        let until_due = last.map_or(Duration::ZERO, |at| live.interval.saturating_sub(at.elapsed()));
        let timeout = live.poll_interval.min(until_due);
        match &mut screen {
            Some(screen) => quit = screen.keys(timeout, || follower.woken())?,
            None => follower.wait(timeout),
        }
    }
    drop(screen);
    if let Some(server) = &server {
        server.hub.stop();
    }
    // What a stream or a file's unfinished last line holds counts, as it
    // would in a batch scan of the same bytes; with a checkpoint, a file's
    // is left for the follower that resumes.
    follower.finish(checkpoint.is_some());
    let state = follower.state();
    let code = delivery.deliver(&state)?;
    if let Some((path, checkpoint)) = &mut checkpoint
        && delivery.writes(&state)
    {
        if let Some(counters_file) = &counters_file {
            let counters = counters(earlier.as_ref(), &state);
            crate::config::write_output(Some(counters_file), |wtr| counters.write(wtr))?;
        }
        save(path, checkpoint, follower.marks())?;
    }
    Ok(if live.exit_on_alert && alerted { ExitCode::from(1) } else { code })
}

/// Where `/metrics`' counters are kept beside the checkpoint at `path`.
fn counters_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".counters");
    PathBuf::from(name)
}

/// The counters earlier followers left at `path`, if any.
fn earlier_counters(path: &Path) -> Option<State> {
    if !path.exists() {
        return None;
    }
    State::read(path).inspect_err(|e| say(format_args!("/metrics starts its counters at 0: {e}"))).ok()
}

/// The counters `/metrics` shows: `earlier` ones plus `state`.
fn counters(earlier: Option<&State>, state: &State) -> State {
    let Some(earlier) = earlier else { return state.clone() };
    let parts = vec![(PathBuf::from("earlier"), earlier.clone()), (PathBuf::from("now"), state.clone())];
    state::merge(parts, true)
        .inspect_err(|e| say(format_args!("/metrics cannot count on from the earlier counters: {e}")))
        .unwrap_or_else(|_| state.clone())
}

/// What `--serve` hands out for this interval: `snapshot`, both
/// expositions of the `counters` (with the top `metrics_top` breakdowns)
/// and `state`, everything read since start, for `/report.html`.
fn publish(
    state: State,
    counters: &State,
    snapshot: &Snapshot,
    alerts: &Alerts,
    metrics_top: usize,
) -> io::Result<Published> {
    let options = ReportOptions { top: (metrics_top > 0).then_some(metrics_top), ..ReportOptions::of(counters) };
    let report = Report::build(counters, &options);
    let firing = alerts.firing();
    let figures = LiveFigures { report: &report, snapshot, alerts: &firing };
    let mut json = Vec::new();
    cts_logscan::escape::write_json(&mut json, snapshot)?;
    Ok(Published {
        snapshot: String::from_utf8_lossy(&json).into(),
        metrics: render(&figures, false).into(),
        open_metrics: render(&figures, true).into(),
        state: Some(Arc::new(state)),
    })
}

/// Records `marks` in the checkpoint at `path`, written atomically when
/// they moved.
fn save(path: &std::path::Path, checkpoint: &mut Checkpoint, marks: Vec<FileMark>) -> anyhow::Result<()> {
    let positions = |c: &Checkpoint| c.files.iter().map(|m| (m.id, m.offset, m.lines)).collect::<Vec<_>>();
    let before = positions(checkpoint);
    checkpoint.update(marks);
    if before != positions(checkpoint) || !path.exists() {
        crate::output::commit_checkpoint(path, checkpoint)?;
    }
    Ok(())
}

/// The terminal in the live view: the alternate screen and raw mode, given
/// back when dropped (also on an error).
struct Screen {
    terminal: ratatui::DefaultTerminal,
    view: View,
}

impl Screen {
    fn open() -> anyhow::Result<Screen> {
        let terminal = ratatui::try_init().context("cannot open the live view on this terminal")?;
        Ok(Screen { terminal, view: View::new() })
    }

    fn draw(&mut self) -> anyhow::Result<()> {
        let view = &self.view;
        self.terminal.draw(|frame| view.draw(frame))?;
        Ok(())
    }

    /// Waits up to `timeout` for keys and handles them, returning early
    /// when `woken` says there is input to read; `true` to quit.
    fn keys(&mut self, timeout: Duration, woken: impl Fn() -> bool) -> anyhow::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || woken() {
                return Ok(false);
            }
            if !event::poll(left.min(Duration::from_millis(50)))? {
                continue;
            }
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    if self.view.key(key) == Action::Quit {
                        return Ok(true);
                    }
                    self.draw()?;
                }
                Event::Resize(..) => self.draw()?,
                _ => {}
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs `--alert-exec` for an alert, without waiting for the command, and
/// returns the alert as a line of text.
fn announce(event: &AlertEvent, live: &Live, children: &mut Vec<Child>) -> String {
    let state = match event.state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    let text =
        format!("alert {state}: {} (observed {} over {}, at {})", event.rule, event.value, event.window, event.time);
    let Some(command) = &live.alert_exec else { return text };
    let spawned = Command::new("sh")
        .args(["-c", command])
        .env("CTS_ALERT_RULE", &event.rule)
        .env("CTS_ALERT_STATE", state)
        .env("CTS_ALERT_VALUE", &event.value)
        .env("CTS_ALERT_CODE", event.code.as_deref().unwrap_or(""))
        .env("CTS_ALERT_WINDOW", &event.window)
        .env("CTS_ALERT_TIME", &event.time)
        .spawn();
    match spawned {
        Ok(child) => children.push(child),
        Err(e) => say(format_args!("--alert-exec could not run {command:?}: {e}")),
    }
    text
}
