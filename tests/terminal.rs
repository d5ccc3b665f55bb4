//! The table as a person sees it: the binary runs in a real
//! pseudo-terminal (tmux) of a given width, and the screen is read back.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::fixture;

/// What a tmux window `width` columns wide shows after running
/// `cts-logscan ARGS` (wrapped lines joined, so a wrapped row shows as a
/// line longer than the window).
fn screen(width: u16, args: &str) -> String {
    let tmux = ["/usr/bin/tmux", "/bin/tmux"].into_iter().find(|p| std::path::Path::new(p).exists());
    let tmux = tmux.expect("these tests need tmux (apt-get install tmux); .ci/run installs it");
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
