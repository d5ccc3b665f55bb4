//! The table as a person sees it: the binary runs in a real
//! pseudo-terminal (tmux) of a given width, and the screen is read back.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::fixture;

/// What a tmux window `width` columns wide shows after running
/// `cts-logscan ARGS` (wrapped lines joined, so a wrapped row shows as a
/// line longer than the window).
fn screen(width: u16, args: &str) -> String {
    let tmux = ["/usr/bin/tmux", "/bin/tmux"].into_iter().find(|p| std::path::Path::new(p).exists());
    let tmux = tmux.expect("these tests need tmux (apt-get install tmux); ./test.sh installs it");
    let socket = format!("cts-logscan-test-{}-{width}-{}", std::process::id(), args.len());
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let script = format!("{bin} {args}; printf '\\n__DONE__'; sleep 60");
    let status = Command::new(tmux)
        .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", &width.to_string(), "-y", "200"])
        .args(["sh", "-c", &script])
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .status()
        .unwrap();
    assert!(status.success(), "tmux did not start");
    let started = Instant::now();
    let text = loop {
        let out = Command::new(tmux).args(["-L", &socket, "capture-pane", "-p", "-J", "-S", "-"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("__DONE__") {
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "cts-logscan did not finish in tmux:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = Command::new(tmux).args(["-L", &socket, "kill-server"]).status();
    text.replace("__DONE__", "")
}

fn without_color(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_table_fits_the_terminal_and_never_wraps_a_row() {
    let gateway = fixture("ndjson/gateway.ndjson");
    let args = format!("{} --top", gateway.display());
    for width in [80u16, 100, 160] {
        let text = without_color(&screen(width, &args));
        for line in text.lines() {
            assert!(line.chars().count() <= usize::from(width), "{width} columns, {} wide: {line}", line.len());
        }
        let is_row = |l: &&str| {
            (l.starts_with("CTS.") || l.starts_with("APIGW."))
                && l.split_whitespace().nth(1).is_some_and(|count| count.parse::<u64>().is_ok())
        };
        let rows: Vec<&str> = text.lines().filter(is_row).collect();
        assert_eq!(rows.len(), 4, "{width} columns:\n{text}");
        assert!(rows[0].starts_with("CTS.0003       2 "), "{width} columns: {}", rows[0]);
        let header = text.lines().find(|l| l.starts_with("CODE")).unwrap();
        if width >= 160 {
            assert!(header.ends_with("MESSAGE"), "{header}");
            assert!(rows[0].contains("Invalid message body."), "{}", rows[0]);
        } else {
            assert!(!header.contains("LAST SEEN"), "{width} columns: {header}");
        }
    }
}

#[test]
fn wide_shows_every_column_on_a_narrow_terminal() {
    let text = without_color(&screen(100, &format!("{} --wide", fixture("ndjson/gateway.ndjson").display())));
    let header = text.lines().find(|l| l.starts_with("CODE")).unwrap();
    assert!(header.contains("FIRST SEEN") && header.ends_with("MESSAGE"), "{header}");
    assert!(header.chars().count() > 100);
}

/// An interactive tmux session for the live view.
struct Session {
    tmux: &'static str,
    socket: String,
}

impl Session {
    fn start(width: u16, height: u16, command: &str) -> Session {
        let tmux = ["/usr/bin/tmux", "/bin/tmux"].into_iter().find(|p| std::path::Path::new(p).exists());
        let tmux = tmux.expect("these tests need tmux (apt-get install tmux); ./test.sh installs it");
        let socket = format!("cts-logscan-live-{}-{width}", std::process::id());
        let script = format!("{command}; printf '\\n__DONE__'; sleep 60");
        let status = Command::new(tmux)
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", &width.to_string(), "-y"])
            .arg(height.to_string())
            .args(["sh", "-c", &script])
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(status.success(), "tmux did not start");
        Session { tmux, socket }
    }

    fn screen(&self) -> String {
        let out = Command::new(self.tmux).args(["-L", &self.socket, "capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`.
    fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never showed {text:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &str) {
        let status = Command::new(self.tmux).args(["-L", &self.socket, "send-keys", keys]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new(self.tmux).args(["-L", &self.socket, "kill-server"]).status();
    }
}

#[test]
fn the_live_view_in_a_terminal_answers_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.ndjson");
    std::fs::write(&log, "").unwrap();
    let bin = env!("CARGO_BIN_EXE_cts-logscan");
    let session =
        Session::start(100, 30, &format!("{bin} -F {} --interval 200ms --poll-interval 100ms", log.display()));
    session.wait_for("cts-logscan --follow");
    let lines = std::fs::read_to_string(fixture("ndjson/gateway.ndjson")).unwrap();
    std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(lines.as_bytes()).unwrap();
    let screen = session.wait_for("CTS.0003");
    assert!(screen.contains("4 codes, sorted by now"), "{screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 100));
    session.keys("s");
    session.wait_for("sorted by since start");
    session.keys("Enter");
    session.wait_for("What to do:");
    session.keys("q");
    // The view gives the terminal back, then the final report is printed.
    let screen = session.wait_for("__DONE__");
    assert!(screen.contains("error bodies            5"), "{screen}");
    assert!(!screen.contains("cts-logscan --follow ·"), "the alternate screen was left: {screen}");
}
