//! `--follow`: the loop that polls the inputs, writes a snapshot at each
//! interval (a line of JSON when stdout is not a terminal), raises alerts,
//! and on Ctrl-C, SIGTERM or the end of every input writes the final
//! report like a batch scan.

use std::io::{self, Write};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use cts_logscan::follow::{AlertEvent, AlertState, Alerts, Follower};

use crate::config::{Live, ScanConfig};

/// Follows the inputs of `config` until stopped.
pub fn run(config: &ScanConfig) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch for Ctrl-C")?;
    }
    let live = config.live();
    let delivery = config.delivery();
    let mut follower = Follower::new(config.sources(), config.follow_options())?;
    if !follower.has_events() && !delivery.quiet() {
        eprintln!(
            "cts-logscan: no filesystem events (inotify watches may be exhausted): checking every {} ms",
            live.poll_interval.as_millis()
        );
    }
    let mut alerts = Alerts::new(live.alerts.clone());
    let mut children: Vec<Child> = Vec::new();
    let mut alerted = false;
    let mut last: Option<Instant> = None;
    let mut out = io::stdout().lock();
    loop {
        follower.poll();
        let ended = follower.all_ended();
        let due = last.is_none_or(|at| at.elapsed() >= live.interval);
        if due || ended {
            let snapshot = follower.snapshot();
            serde_json::to_writer(&mut out, &snapshot)?;
            writeln!(out)?;
            out.flush()?;
            for event in alerts.check(follower.windows(), &follower.codes()) {
                announce(&event, &live, &mut children);
                alerted |= event.state == AlertState::Firing;
            }
            last = Some(Instant::now());
        }
        children.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
        if ended || stop.load(Ordering::Relaxed) || (live.exit_on_alert && alerted) {
            break;
        }
        let until_due = last.map_or(Duration::ZERO, |at| live.interval.saturating_sub(at.elapsed()));
        follower.wait(live.poll_interval.min(until_due));
    }
    drop(out);
    let code = crate::deliver(&follower.state(), delivery)?;
    Ok(if live.exit_on_alert && alerted { ExitCode::from(1) } else { code })
}

/// Prints an alert on stderr and runs `--alert-exec` for it, without
/// waiting for the command.
fn announce(event: &AlertEvent, live: &Live, children: &mut Vec<Child>) {
    let state = match event.state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    eprintln!(
        "cts-logscan: alert {state}: {} (observed {} over {}, at {})",
        event.rule, event.value, event.window, event.time
    );
    let Some(command) = &live.alert_exec else { return };
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
        Err(e) => eprintln!("cts-logscan: --alert-exec could not run {command:?}: {e}"),
    }
}
