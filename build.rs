//! Records the git commit the binary is built from, for `--version`:
//! `CTS_LOGSCAN_COMMIT` when set (a build from a source archive), else
//! `git rev-parse`, else `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CTS_LOGSCAN_COMMIT");
    // A new commit moves HEAD or the branch it points at.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let from_git = || {
        let out = Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok()?;
        let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !commit.is_empty()).then_some(commit)
    };
    let commit = std::env::var("CTS_LOGSCAN_COMMIT").ok().or_else(from_git).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CTS_LOGSCAN_COMMIT={commit}");
}
