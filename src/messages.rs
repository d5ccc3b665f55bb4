//! Messages on stderr: every warning, error, breach and alert the binary
//! prints goes through [`say`], so each carries the program's name and no
//! raw control character from a file name or a log reaches the terminal.
//!
//! At the bottom of the binary: `main`, `live` and `output` use it, and it
//! uses nothing of theirs.

use std::fmt::Display;

use cts_logscan::escape;

/// Prints a message on stderr as `cts-logscan: MESSAGE`, with any control
/// character in it (from a file name or a log) escaped
/// ([`escape::escape`]).
pub fn say(message: impl Display) {
    eprintln!("cts-logscan: {}", escape::escape(&message.to_string()));
}
