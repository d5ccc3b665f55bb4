#!/usr/bin/env bash
# Builds the release binary once, then the Debian package and the Python
# wheel from it, into target/dist:
#   target/dist/cts-logscan_<version>-1_<arch>.deb   (cargo deb)
#   target/dist/cts-logscan-<version>-py3-none-<platform>.whl   (maturin)
# Needs cargo-deb (`cargo install cargo-deb --locked`) and maturin
# (`pip install maturin`).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked
bin=target/release/cts-logscan

# The man page and completions, from the binary itself.
mkdir -p target/assets target/dist
"$bin" man > target/assets/cts-logscan.1
"$bin" completions bash > target/assets/cts-logscan.bash
"$bin" completions zsh > target/assets/_cts-logscan
"$bin" completions fish > target/assets/cts-logscan.fish

# The release profile keeps debuginfo for profiling; the package does not.
# cargo deb compresses the man page.
cargo deb --no-build --locked --strip --output target/dist/

# maturin runs the same `cargo build --release`, which finds it done.
maturin build --release --locked --out target/dist/ --quiet

ls -l target/dist/
