//! The output policy: how a finished [`State`] leaves the program. Its
//! report (or the state itself) is written as [`Delivery`] says (which
//! renderer, stdout or the `-o` file as a whole), the `--fail-on` rules
//! judge it, and both decide the exit code:
//!
//! | what happened | exit |
//! | --- | --- |
//! | an input or directory could not be read (fully) | 2 |
//! | nothing was read at all (no report is written; a state still is) | 2 |
//! | a rule had no data to judge it by | 2 |
//! | a rule was breached | 1 |
//! | otherwise | 0 |
//!
//! Batch scans, `merge` and `--follow` all end here, and `diff` judges its
//! new report with [`judge`]; so this module sits below `main` and `live`
//! and calls neither. It knows nothing of how the state was read.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cts_logscan::input::checkpoint::Checkpoint;

use cts_logscan::report::{Report, ReportOptions};
use cts_logscan::rules::{self, Judgement, Rule};
use cts_logscan::spikes::Drivers;
use cts_logscan::state::State;

use crate::config::Delivery;
use crate::messages::say;

impl Delivery {
    /// Whether [`Delivery::deliver`] writes an output for `state`: not a
    /// report when nothing was read at all.
    pub fn writes(&self, state: &State) -> bool {
        self.renderer().is_none() || !state.nothing_read()
    }

    /// Writes `state` (or its report) as asked, checks the `--fail-on`
    /// rules, and picks the exit code: 2 when an input failed, else what
    /// [`judge`] says.
    ///
    /// Says on stderr, unless quiet, the warnings about the command line
    /// and about what was read; errors and the rules' verdicts always.
    /// When nothing was read, no report is written (a report of zeros
    /// could pass for a quiet night), only a state, and the exit is 2.
    ///
    /// The rules see every code, also those `--code` hides from the
    /// report: one report of every code is built, the hidden ones are set
    /// aside while it is written and put back to be judged.
    ///
    /// # Errors
    ///
    /// When the output cannot be written, naming the file.
    pub fn deliver(&self, state: &State) -> anyhow::Result<ExitCode> {
        self.deliver_with(state, &BTreeMap::new())
    }

    /// [`Delivery::deliver`], the report saying what drives each spike of
    /// `drivers` (see [`cts_logscan::spikes`]).
    ///
    /// # Errors
    ///
    /// As [`Delivery::deliver`].
    pub fn deliver_with(&self, state: &State, drivers: &BTreeMap<String, Drivers>) -> anyhow::Result<ExitCode> {
        if !self.quiet() {
            self.warnings().iter().for_each(say);
        }
        if !self.writes(state) {
            // No report of zeros that a nightly job could take for a quiet
            // night. A state is still written, so that the merge of a fan-out
            // lists the inputs that failed.
            return Ok(ExitCode::from(2));
        }
        if !self.quiet() {
            state.warnings().iter().for_each(say);
        }
        let options = self.report_options(state);
        // One report of every code; the output shows those of `--code`.
        let mut report = Report::build(state, &ReportOptions { codes: Vec::new(), ..options.clone() });
        report.set_spike_drivers(drivers);
        let hidden = report.set_aside_codes(&options);
        self.write(|wtr| match self.renderer() {
            Some(renderer) => renderer.render(&report, wtr),
            None => state.write(wtr),
        })?;
        // The rules judge every code, and their breaches are printed even
        // with -q.
        report.put_back_codes(hidden);
        let judged = judge(self.rules(), &report, self.quiet());
        Ok(if state.errors().next().is_some() { ExitCode::from(2) } else { judged })
    }
}

/// Records in the `--checkpoint` file at `path` what the run planned by
/// `plan`, whose output was written, read: atomically, so that a run that
/// fails later, or a crash, leaves the earlier checkpoint whole.
///
/// # Errors
///
/// When the checkpoint cannot be written, naming it.
pub fn commit_checkpoint(path: &Path, checkpoint: &Checkpoint) -> anyhow::Result<()> {
    crate::config::write_output(Some(path), |wtr| checkpoint.write(wtr)).with_context(|| {
        format!(
            "the output was written, but not the checkpoint {}: the next run reads these bytes again",
            path.display()
        )
    })
}

/// Judges `report` by `rules` and says so on stderr: warnings about rules
/// that name a code never seen (unless `quiet`), then breaches and rules
/// that could not be judged (always). The exit code: 2 when a rule could
/// not be judged, else 1 when one was breached, else 0.
pub fn judge(rules: &[Rule], report: &Report, quiet: bool) -> ExitCode {
    if !quiet {
        rules::warnings(rules, report).iter().for_each(say);
    }
    let judgement = rules::judge(rules, report);
    judgement.breaches.iter().for_each(say);
    judgement.unjudged.iter().for_each(say);
    exit_code(&judgement)
}

/// 2 when a rule could not be judged (a run that checked nothing must not
/// pass), else 1 when one was breached, else 0.
fn exit_code(judgement: &Judgement) -> ExitCode {
    if !judgement.unjudged.is_empty() {
        ExitCode::from(2)
    } else if !judgement.breaches.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use clap::Parser;
    use cts_logscan::aggregate::{Aggregate, Collect, LinePosition};
    use cts_logscan::extract::ErrorBody;
    use cts_logscan::filter::Filter;
    use cts_logscan::record::Record;
    use cts_logscan::rules::{Breach, Unjudged};
    use cts_logscan::state::InputSummary;

    use super::*;
    use crate::cli::ReportArgs;

    /// The report options of a command line, as `merge` takes them.
    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        report: ReportArgs,
    }

    /// The delivery of `args`, written to `out`.
    fn delivery(out: &Path, args: &[&str]) -> Delivery {
        let out = out.to_str().unwrap();
        let args = Args::parse_from(["cts-logscan", "-q", "-o", out].iter().chain(args));
        Delivery::new(args.report, None)
    }

    /// One input of 4 requests: 3 without an error body, answered in
    /// 10 ms, and one `CTS.0003` body without a latency; `error` as the
    /// input's error.
    fn state(error: Option<&str>) -> State {
        let mut agg = Aggregate::default();
        let collect = Collect::default();
        agg.add_block(0, 0, 4);
        for line in 0..4 {
            let body = (line == 3).then_some(ErrorBody {
                code: "CTS.0003",
                message: None,
                status: Some(400),
                request_id: None,
            });
            let latency_us = body.is_none().then_some(10_000);
            let record =
                Record { status: Some(if body.is_some() { 400 } else { 200 }), latency_us, ..Record::default() };
            agg.add_record(&record, body, LinePosition { file: 0, block: 0, line }, &collect);
        }
        agg.resolve_positions();
        State::new(vec![input(4, 4, error)], Vec::new(), Filter::default(), collect, None, agg)
    }

    fn input(bytes: u64, lines: u64, error: Option<&str>) -> InputSummary {
        InputSummary {
            path: "web1.log".to_owned(),
            format: None,
            wrapper: None,
            compression: None,
            bytes,
            raw_bytes: bytes,
            lines,
            malformed: 0,
            not_requests: 0,
            fingerprint: None,
            looks_like: None,
            skipped: false,
            error: error.map(str::to_owned),
        }
    }

    /// A state of an input that could not be opened.
    fn nothing_read() -> State {
        let input = input(0, 0, Some("web1.log: cannot open: No such file or directory"));
        State::new(vec![input], Vec::new(), Filter::default(), Collect::default(), None, Aggregate::default())
    }

    fn out(dir: &tempfile::TempDir, name: &str) -> PathBuf {
        dir.path().join(name)
    }

    fn json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_judgement_sets_the_exit_code() {
        let breach = || Breach { rule: "CTS.0003>0".to_owned(), observed: "1".to_owned() };
        let unjudged = || Unjudged { rule: "p99>1s".to_owned(), reason: "no latency".to_owned() };
        let code = |breaches: Vec<Breach>, unjudged: Vec<Unjudged>| exit_code(&Judgement { breaches, unjudged });
        assert_eq!(code(vec![], vec![]), ExitCode::SUCCESS);
        assert_eq!(code(vec![breach()], vec![]), ExitCode::from(1));
        assert_eq!(code(vec![], vec![unjudged()]), ExitCode::from(2));
        assert_eq!(code(vec![breach()], vec![unjudged()]), ExitCode::from(2));
    }

    #[test]
    fn rules_decide_when_the_inputs_were_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = out(&dir, "report.json");
        let cases: [(&[&str], ExitCode); 6] = [
            (&[], ExitCode::SUCCESS),
            (&["--fail-on", "error_rate>50%"], ExitCode::SUCCESS),
            (&["--fail-on", "CTS.0003>0"], ExitCode::from(1)),
            // No request of CTS.0003 has a latency: nothing to judge.
            (&["--fail-on", "CTS.0003:p99>1s"], ExitCode::from(2)),
            (&["--fail-on", "CTS.0003>0", "--fail-on", "CTS.0003:p99>1s"], ExitCode::from(2)),
            // A code never seen holds (with a warning).
            (&["--fail-on", "CTS.0004>0"], ExitCode::SUCCESS),
        ];
        for (args, expected) in cases {
            let code = delivery(&path, args).deliver(&state(None)).unwrap();
            assert_eq!(code, expected, "{args:?}");
            assert_eq!(json(&path)["summary"]["requests"], 4, "{args:?}");
        }
    }

    #[test]
    fn an_input_error_exits_2_whatever_the_rules_say() {
        let dir = tempfile::tempdir().unwrap();
        let path = out(&dir, "report.json");
        let failed = state(Some("web1.log: read error after 4 bytes"));
        for args in [&[][..], &["--fail-on", "CTS.0003>0"], &["--fail-on", "requests>=1"]] {
            assert_eq!(delivery(&path, args).deliver(&failed).unwrap(), ExitCode::from(2), "{args:?}");
            // What was read is still reported.
            assert_eq!(json(&path)["inputs"][0]["error"], "web1.log: read error after 4 bytes");
        }
    }

    #[test]
    fn nothing_read_exits_2_with_a_state_and_no_report() {
        let dir = tempfile::tempdir().unwrap();
        let report = out(&dir, "report.json");
        assert_eq!(delivery(&report, &[]).deliver(&nothing_read()).unwrap(), ExitCode::from(2));
        assert!(!report.exists(), "a report of zeros was written");
        let written = out(&dir, "web1.state");
        assert_eq!(delivery(&written, &[]).deliver(&nothing_read()).unwrap(), ExitCode::from(2));
        assert_eq!(State::read(&written).unwrap().inputs[0].bytes, 0);
    }

    #[test]
    fn rules_see_the_codes_that_code_hides() {
        let dir = tempfile::tempdir().unwrap();
        let path = out(&dir, "report.json");
        let mut hiding = state(None);
        hiding.filter.codes = vec![cts_logscan::filter::CodePattern::parse("APIGW.*").unwrap()];
        let code = delivery(&path, &["--fail-on", "CTS.0003>0"]).deliver(&hiding).unwrap();
        assert_eq!(code, ExitCode::from(1));
        let report = json(&path);
        assert_eq!(report["codes"], serde_json::json!([]));
        assert_eq!(report["summary"]["error_bodies"], 1);
    }
}
