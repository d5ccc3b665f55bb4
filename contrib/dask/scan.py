#!/usr/bin/env python3
"""Fan a cts-logscan scan out over a Dask cluster and merge it exactly.

Each shard (a file, a local glob, an s3:// or obs:// prefix or glob, or a
host:path read over ssh) is scanned on a Dask worker with
`cts-logscan --output state`; the states are merged with `cts-logscan merge`
in a tree, at most --fan-in at a time, and the last merge writes the report
here with the report flags given after `--`. Every figure equals that of one
scan over all the shards.

    python3 contrib/dask/scan.py --workers 2 web1.log web2.log.gz -- --output json > report.json
    python3 contrib/dask/scan.py --scheduler tcp://10.0.0.5:8786 's3://logs/nginx/2026/11/*' -- --since 2h

Flags after `--` are cts-logscan's own. `--output`, `-o`/`--output-file`,
`--fail-on`, `--wide` and `--color` apply to the final report,
`--allow-overlap` to every merge; every other flag goes to each shard's
scan. Messages of the merges name the shards given, not the temporary
states. Exit codes are the CLI's: 0, 1 when a
--fail-on rule is breached, 2 when any shard failed (it is named; the other
shards are merged) or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

#: Report flags that take a value; they go to the final merge only.
REPORT_FLAGS_WITH_VALUE = ("--output", "--fail-on", "-o", "--output-file", "--color")
#: Report flags without a value.
REPORT_SWITCHES = ("--wide",)
#: Flags of `cts-logscan merge`; they go to every merge.
MERGE_SWITCHES = ("--allow-overlap",)
#: Scan flags that make no sense per shard.
REFUSED_FLAGS = ("--follow", "-f")


@dataclass
class Part:
    """A state (one line of JSON) of some shards, in order, and the shards
    that went wrong on the way."""

    shards: list[str]
    state: bytes | None
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The shards as the user gave them: `shard a.log`, `shards a.log, b.log`;
        past three, the first two and the last (`shards a, b, …, z (40 shards)`)."""
        names = self.shards if len(self.shards) <= 3 else [*self.shards[:2], "…", self.shards[-1]]
        count = f" ({len(self.shards)} shards)" if len(self.shards) > 3 else ""
        return ("shard " if len(self.shards) == 1 else "shards ") + ", ".join(names) + count


def split_flags(flags: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Splits the CLI flags into (scan flags, final report flags, merge flags)."""
    scan, report, merge = [], [], []
    i = 0
    while i < len(flags):
        flag = flags[i]
        name = flag.split("=", 1)[0]
        if name in REFUSED_FLAGS:
            raise SystemExit(f"scan.py: {flag} cannot be fanned out; run cts-logscan --follow on each host")
        if name in REPORT_FLAGS_WITH_VALUE or (flag.startswith("-o") and not flag.startswith("--") and len(flag) > 2):
            takes_next = "=" not in flag and flag in REPORT_FLAGS_WITH_VALUE
            if takes_next and i + 1 >= len(flags):
                raise SystemExit(f"scan.py: {flag} needs a value")
            report.extend(flags[i : i + 2] if takes_next else [flag])
            i += 2 if takes_next else 1
        elif flag in REPORT_SWITCHES:
            report.append(flag)
            i += 1
        elif flag in MERGE_SWITCHES:
            merge.append(flag)
            i += 1
        elif flag in ("-q", "--quiet"):
            i += 1  # shards and merges are always quiet; the report is the output
        else:
            scan.append(flag)
            i += 1
    return scan, report, merge


def is_remote(shard: str) -> bool:
    """`host:/path` or `user@host:path`, not a URL or a local path."""
    if "://" in shard or os.path.exists(shard):
        return False
    host, sep, path = shard.partition(":")
    return bool(sep and host and path and "/" not in host)


def shard_command(binary: str, ssh: str, remote_binary: str, shard: str, flags: list[str]) -> list[str]:
    """The command that scans `shard` into a state on its standard output."""
    scan = ["--output", "state", "-q", *flags]
    if is_remote(shard):
        host, _, path = shard.partition(":")
        remote = shlex.join([remote_binary, *scan, "--", path])
        return [*shlex.split(ssh), "-o", "BatchMode=yes", host, remote]
    if "://" not in shard and glob.has_magic(shard):
        paths = sorted(glob.glob(shard))
        if not paths:
            raise FileNotFoundError(f"no file matches {shard}")
        return [binary, *scan, "--", *paths]
    return [binary, *scan, "--", shard]


def last_lines(text: bytes, limit: int = 20) -> str:
    """The end of a program's standard error, for a failure message."""
    lines = text.decode("utf-8", "replace").strip().splitlines()
    return "\n".join(lines[-limit:]) or "no message"


def scan_shard(binary: str, ssh: str, remote_binary: str, shard: str, flags: list[str]) -> Part:
    """Runs on a worker: the shard's state, or why there is none. A scan that
    wrote a state but exited 2 (an input could not be read in full) keeps its
    state, since what was readable counts, and is named as failed."""
    try:
        done = subprocess.run(shard_command(binary, ssh, remote_binary, shard, flags), capture_output=True)
    except (OSError, ValueError) as e:
        return Part([shard], None, [(shard, str(e))])
    state = done.stdout if done.stdout.strip() else None
    if done.returncode == 0 and state is not None:
        return Part([shard], state)
    return Part([shard], state, [(shard, f"exit {done.returncode}: {last_lines(done.stderr)}")])


def write_states(parts: list[Part], folder: str) -> dict[str, Part]:
    """Writes the states of the parts that have one to `folder`, in order;
    each path with its part."""
    written = {}
    for i, part in enumerate(p for p in parts if p.state is not None):
        path = os.path.join(folder, f"{i:03}.state")
        with open(path, "wb") as f:
            f.write(part.state)
        written[path] = part
    return written


def name_shards(message: str, written: dict[str, Part]) -> str:
    """`message` of a merge with each temporary state named by its shards."""
    for path, part in written.items():
        message = message.replace(path, part.label)
    return message.replace("pass --allow-overlap", "pass --allow-overlap after --")


def merge_parts(binary: str, merge_flags: list[str], *parts: Part) -> Part:
    """Runs on a worker: one state from several, in order. Input errors the
    states carry make `merge` exit 2 after writing the state; they were
    named with their shard already."""
    failures = [failure for part in parts for failure in part.failures]
    merged = Part([shard for part in parts for shard in part.shards], None, failures)
    with tempfile.TemporaryDirectory(prefix="cts-logscan-merge-") as folder:
        written = write_states(list(parts), folder)
        if len(written) <= 1:
            merged.state = next(iter(written.values())).state if written else None
            return merged
        done = subprocess.run([binary, "merge", "--output", "state", "-q", *merge_flags, *written], capture_output=True)
        message = name_shards(last_lines(done.stderr), written)
    if done.stdout.strip():
        merged.state = done.stdout
    else:
        merged.failures.append((f"merging {merged.label}", f"exit {done.returncode}: {message}"))
    return merged


def arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The driver's options and shards, and the CLI flags after `--`."""
    if "--" in argv:
        at = argv.index("--")
        argv, cli_flags = argv[:at], argv[at + 1 :]
    else:
        cli_flags = []
    parser = argparse.ArgumentParser(
        prog="scan.py",
        description="Scan shards on a Dask cluster with cts-logscan and merge the states into one exact report.",
        epilog="Flags after -- are cts-logscan's. Exit codes: 0, 1 a --fail-on rule was breached, 2 a shard failed.",
    )
    parser.add_argument("shards", nargs="+", help="files, globs, s3:// or obs:// prefixes, host:path (read over ssh)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="start a LocalCluster with N worker processes")
    where.add_argument("--scheduler", metavar="ADDR", help="join an existing cluster, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--binary", default="cts-logscan", help="cts-logscan on the workers and here (default: on PATH)")
    parser.add_argument("--ssh", default="ssh", help="the ssh command for host:path shards (default: ssh)")
    parser.add_argument("--remote-binary", default="cts-logscan", help="cts-logscan on the ssh hosts")
    parser.add_argument("--fan-in", type=int, default=8, metavar="K", help="states merged at a time (default: 8)")
    options = parser.parse_args(argv)
    if options.fan_in < 2:
        parser.error("--fan-in must be at least 2")
    if options.workers is not None and options.workers < 1:
        parser.error("--workers must be at least 1")
    return options, cli_flags


def run(options: argparse.Namespace, cli_flags: list[str]) -> int:
    """Scans, merges and writes the report; the exit code."""
    from dask.distributed import Client, LocalCluster

    scan_flags, report_flags, merge_flags = split_flags(cli_flags)
    if shutil.which(options.binary) is None:
        print(f"scan.py: {options.binary}: not found; the final merge runs here (pip install cts-logscan, or --binary PATH)", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        if options.scheduler:
            client = stack.enter_context(Client(options.scheduler))
        else:
            n_workers = options.workers or os.cpu_count()
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")
            stack.enter_context(cluster)
            client = stack.enter_context(Client(cluster))
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        print(f"scan.py: {len(options.shards)} shards on {workers} workers at {client.scheduler.address}", file=sys.stderr)
        level = [
            client.submit(scan_shard, options.binary, options.ssh, options.remote_binary, shard, scan_flags, pure=False)
            for shard in options.shards
        ]
        # Merge in a tree: the last level, at most fan-in states, is merged here.
        while len(level) > options.fan_in:
            groups = [level[i : i + options.fan_in] for i in range(0, len(level), options.fan_in)]
            level = [client.submit(merge_parts, options.binary, merge_flags, *group, pure=False) for group in groups]
        parts = client.gather(level)
    failures = [failure for part in parts for failure in part.failures]
    for shard, message in failures:
        print(f"scan.py: {shard}: {message}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="cts-logscan-report-") as folder:
        written = write_states(parts, folder)
        if not written:
            print("scan.py: no shard produced a state; nothing to report", file=sys.stderr)
            return 2
        command = [options.binary, "merge", "-q", *report_flags, *merge_flags, *written]
        done = subprocess.run(command, stderr=subprocess.PIPE)
        stderr = name_shards(done.stderr.decode("utf-8", "replace"), written)
    # The merge repeats the input errors the states carry; each was named
    # with its shard above.
    named = "\n".join(message for _, message in failures)
    for line in stderr.splitlines():
        if line not in named:
            print(line, file=sys.stderr)
    if failures:
        failed = len({shard for shard, _ in failures})
        print(f"scan.py: {failed} of {len(options.shards)} shards failed; the report holds the rest", file=sys.stderr)
        return 2
    return done.returncode


def main() -> int:
    options, cli_flags = arguments(sys.argv[1:])
    return run(options, cli_flags)


if __name__ == "__main__":
    sys.exit(main())
