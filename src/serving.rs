//! `--serve` in the follow loop: what is published at each interval, and
//! with `--checkpoint` the counters that go on across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cts_logscan::follow::{Alerts, Follower, Snapshot};
use cts_logscan::report::{Report, ReportOptions};
use cts_logscan::serve::metrics::{LiveFigures, render};
use cts_logscan::serve::{Published, Server};
use cts_logscan::state::{self, State};

use crate::config::Serve;
use crate::messages::say;

/// The server and what the loop keeps for it.
pub struct Serving {
    server: Server,
    metrics_top: usize,
    counters: Option<Counters>,
    /// Whether where it serves was said: once the first figures are
    /// published, when following has begun and every endpoint answers.
    announced: bool,
}

/// `/metrics`' counters kept beside a checkpoint: those of earlier
/// followers, to add this one's to.
struct Counters {
    path: PathBuf,
    earlier: Option<State>,
    /// The lines counted when the file was last written.
    written: Option<u64>,
}

impl Serving {
    /// Starts serving as `serve` says, publishing every `interval`; with a
    /// `checkpoint`, the counters go on from the ones kept beside it.
    ///
    /// # Errors
    ///
    /// When the server cannot start.
    pub fn start(serve: &Serve, interval: Duration, checkpoint: Option<&Path>) -> anyhow::Result<Serving> {
        let server = Server::start(&serve.addr, serve.token.clone(), interval)?;
        let counters = checkpoint.map(|checkpoint| {
            let path = counters_path(checkpoint);
            let earlier = read_counters(&path);
            Counters { path, earlier, written: None }
        });
        Ok(Serving { server, metrics_top: serve.metrics_top, counters, announced: false })
    }

    /// Hands out this interval's figures: `snapshot`, both expositions of
    /// the counters (with the top `metrics_top` breakdowns) and the state
    /// for `/report.html`; keeps the counters beside the checkpoint.
    ///
    /// # Errors
    ///
    /// When the snapshot cannot be written or the counters kept.
    pub fn publish(&mut self, follower: &Follower, snapshot: &Snapshot, alerts: &Alerts) -> anyhow::Result<()> {
        let state = follower.state();
        let counters = self.counters.as_mut().map(|counters| counters.add(&state));
        let shown = counters.as_ref().unwrap_or(&state);
        let options = ReportOptions {
            top: (self.metrics_top > 0).then_some(self.metrics_top),
            histograms: true,
            ..ReportOptions::of(shown)
        };
        let report = Report::build(shown, &options);
        let firing = alerts.firing();
        let windows = follower.windows();
        let window_rates: Vec<(String, Option<f64>)> = windows
            .lengths()
            .iter()
            .zip(&snapshot.windows)
            .map(|(&length, label)| {
                let window = windows.window(length);
                (label.clone(), (window.requests > 0).then(|| window.error_bodies as f64 / window.requests as f64))
            })
            .collect();
        let figures = LiveFigures { report: &report, snapshot, alerts: &firing, window_rates: &window_rates };
        let mut json = Vec::new();
        cts_logscan::escape::write_json(&mut json, snapshot)?;
        self.server.hub.publish(Published {
            snapshot: String::from_utf8_lossy(&json).into(),
            metrics: render(&figures, false).into(),
            open_metrics: render(&figures, true).into(),
            state: Some(Arc::new(state)),
        });
        if let (Some(kept), Some(counters)) = (&mut self.counters, counters) {
            kept.keep(&counters)?;
        }
        if !self.announced {
            // Said even with --quiet: with :0 this is where the port is
            // told; what is written from now on is counted.
            say(format_args!("serving on http://{}/ (Prometheus: /metrics)", self.server.addr));
            self.announced = true;
        }
        Ok(())
    }

    /// Following has stopped: `/healthz` says so.
    pub fn stop(&self) {
        self.server.hub.stop();
    }

    /// Keeps the counters with `state`, the last one, beside the
    /// checkpoint.
    ///
    /// # Errors
    ///
    /// When the counters cannot be kept.
    pub fn keep_last(&mut self, state: &State) -> anyhow::Result<()> {
        if let Some(kept) = &mut self.counters {
            let counters = kept.add(state);
            kept.keep(&counters)?;
        }
        Ok(())
    }
}

impl Counters {
    /// The earlier counters plus `state`'s.
    fn add(&mut self, state: &State) -> State {
        let Some(earlier) = self.earlier.as_ref() else { return state.clone() };
        // Counters count what was read, whatever filters a run had.
        let mut earlier = earlier.clone();
        earlier.filter = state.filter.clone();
        earlier.collect = state.collect;
        earlier.top = state.top;
        let parts = vec![(PathBuf::from("earlier"), earlier), (PathBuf::from("now"), state.clone())];
        state::merge(parts, true).unwrap_or_else(|e| {
            // Said once: from now on this follower's counts are the
            // counters.
            say(format_args!("/metrics starts its counters at 0: the earlier ones do not add up: {e}"));
            self.earlier = None;
            state.clone()
        })
    }

    /// Writes `counters` (atomically) when they moved since last written.
    fn keep(&mut self, counters: &State) -> anyhow::Result<()> {
        if self.written == Some(counters.aggregate.lines) {
            return Ok(());
        }
        crate::config::write_output(Some(&self.path), |wtr| counters.write(wtr))?;
        self.written = Some(counters.aggregate.lines);
        Ok(())
    }
}

/// Where `/metrics`' counters are kept beside the checkpoint at `path`.
fn counters_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".counters");
    PathBuf::from(name)
}

/// The counters earlier followers left at `path`, if any.
fn read_counters(path: &Path) -> Option<State> {
    if !path.exists() {
        return None;
    }
    State::read(path).inspect_err(|e| say(format_args!("/metrics starts its counters at 0: {e}"))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_kept_beside_the_checkpoint() {
        assert_eq!(counters_path(Path::new("/var/lib/cts/live.cp")), Path::new("/var/lib/cts/live.cp.counters"));
    }

    #[test]
    fn unreadable_counters_start_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.cp.counters");
        assert!(read_counters(&path).is_none(), "none yet");
        std::fs::write(&path, "not a state").unwrap();
        assert!(read_counters(&path).is_none());
    }
}
