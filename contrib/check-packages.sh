#!/usr/bin/env bash
# Installs each artefact of contrib/package.sh in a clean place and runs it:
# `cargo install` into a temporary root, the wheel into a fresh venv, the
# Debian package with dpkg -i (removed again at the end). Each must print
# the version with this checkout's commit and give the hand-checked figures
# of a shipped fixture.
set -euo pipefail
cd "$(dirname "$0")/.."

fixture=fixtures/ndjson/gateway.ndjson
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# `cts-logscan --version` names this commit. The fixture's 12 lines hold 8
# requests (one line is blank, one cut short, one not JSON) and 5 error
# bodies, CTS.0003 on lines 2 and 4.
check() {
  local bin=$1 how=$2
  local version
  version=$("$bin" --version)
  case "$version" in
    "cts-logscan "*"(commit $commit, state version "*) ;;
    *) echo "check-packages: $how: --version says '$version', not commit $commit" >&2; exit 1 ;;
  esac
  "$bin" "$fixture" --output json -q > "$scratch/report.json"
  python3 - "$scratch/report.json" "$how" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
codes = {c["code"]: c for c in report["codes"]}
got = (report["summary"]["requests"], report["summary"]["error_bodies"], codes["CTS.0003"]["count"])
if got != (8, 5, 2):
    sys.exit(f"check-packages: {sys.argv[2]}: requests, error bodies, CTS.0003 = {got}, expected (8, 5, 2)")
PY
  echo "check-packages: $how: $version"
}

cargo install --locked --quiet --path . --root "$scratch/cargo"
check "$scratch/cargo/bin/cts-logscan" "cargo install"

python3 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet target/dist/cts_logscan-*.whl
check "$scratch/venv/bin/cts-logscan" "pip install (wheel)"

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo dpkg -i target/dist/cts-logscan_*.deb > /dev/null
trap '$sudo dpkg -r cts-logscan > /dev/null; rm -rf "$scratch"' EXIT
for file in /usr/bin/cts-logscan /usr/share/man/man1/cts-logscan.1.gz \
  /usr/share/bash-completion/completions/cts-logscan /usr/share/zsh/vendor-completions/_cts-logscan \
  /usr/share/fish/vendor_completions.d/cts-logscan.fish; do
  dpkg -S "$file" > /dev/null || { echo "check-packages: the .deb does not install $file" >&2; exit 1; }
done
zcat /usr/share/man/man1/cts-logscan.1.gz | grep -q '^\.TH cts-logscan' \
  || { echo "check-packages: the man page is not roff" >&2; exit 1; }
check /usr/bin/cts-logscan "dpkg -i"
