//! `--follow`: the loop that polls the inputs, shows a snapshot at each
//! interval (the live view on a terminal, else a line of JSON unless
//! `--serve` hands it out over HTTP), raises alerts, and on `q`, Ctrl-C,
//! SIGTERM or (off a terminal) the end of every input writes the final
//! report like a batch scan.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cts_logscan::follow::{ALERTS_SHOWN, AlertEvent, AlertState, Alerts, Follower};
use cts_logscan::input::checkpoint::{self, Checkpoint, FileMark};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::config::{Live, ScanConfig};
use crate::messages::say;
use crate::serving::Serving;
use crate::tui::{Action, View};

/// Follows the inputs of `config` until stopped.
pub fn run(config: &ScanConfig) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch for Ctrl-C")?;
    }
    let live = config.live();
    let delivery = config.delivery();
    let serve = config.serve()?;
    // With --checkpoint, where an earlier follower or run stopped; saved at
    // every interval and on exit.
    let _held = config.checkpoint().map(checkpoint::lock).transpose()?;
    let mut checkpoint = match config.checkpoint() {
        Some(path) => Some((path, Checkpoint::read(path)?)),
        None => None,
    };
    let resume = checkpoint.as_ref().map(|(_, checkpoint)| checkpoint.clone()).unwrap_or_default();
    let mut serving = serve.map(|serve| Serving::start(&serve, live.interval, config.checkpoint())).transpose()?;
    let mut follower = Follower::resume(config.sources(), config.follow_options(), resume)?;
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
            if let Some(serving) = &mut serving {
                serving.publish(&follower, &snapshot, &alerts)?;
            }
            match &mut screen {
                Some(screen) => {
                    screen.view.update(snapshot);
                    screen.draw()?;
                }
                None if serving.is_some() => {}
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
    if let Some(serving) = &serving {
        serving.stop();
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
        if let Some(serving) = &mut serving {
            serving.keep_last(&state)?;
        }
        save(path, checkpoint, follower.marks())?;
    }
    Ok(if live.exit_on_alert && alerted { ExitCode::from(1) } else { code })
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
