#!/usr/bin/env bash
# End-to-end benchmark: cts-logscan next to the tools users would reach for,
# on generated 1 GiB corpora, in one session, runs alternating between tools.
#
#   benches/e2e.sh                       # RUNS=3 SIZE=1GiB CORPUS_DIR=target/corpora
#   RUNS=5 benches/e2e.sh
#
# Prints one markdown table per corpus: median wall time, median CPU time
# (user+sys), median peak RSS (all from /usr/bin/time), throughput, and each
# tool's wall time relative to `cts-logscan --threads 2`. Optional tools
# (rg, DuckDB through python3) are skipped when not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZE=${SIZE:-1GiB}
DIR=${CORPUS_DIR:-target/corpora}
BIN=target/release/cts-logscan
TIME=/usr/bin/time

[ -x "$TIME" ] || { echo "e2e.sh needs GNU time at $TIME (apt-get install time)" >&2; exit 2; }
cargo build --release --quiet --bin cts-logscan --example gen_corpus
mkdir -p "$DIR"
for flavor in ndjson nginx; do
  out="$DIR/$flavor-$SIZE.log"
  [ -s "$out" ] || target/release/examples/gen_corpus --flavor "$flavor" --size "$SIZE" --out "$out"
done

duckdb_query() { # file latency-regex
  python3 - "$1" "$2" <<'PY'
import sys, duckdb
path, latency = sys.argv[1], sys.argv[2]
code = r'error_code(?:\\?"|\\x22)\s*:\s*(?:\\?"|\\x22)([A-Za-z0-9._-]+)'
duckdb.sql(f"""
  SELECT regexp_extract(line, '{code}', 1) AS code, count(*) AS n,
         quantile_disc(TRY_CAST(regexp_extract(line, '{latency}', 1) AS DOUBLE), [0.5, 0.99]) AS p
  FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, delim = '\x01', quote = '', escape = '',
                header = false, strict_mode = false)
  GROUP BY code ORDER BY n DESC""").fetchall()
PY
}
export -f duckdb_query

tools_for() { # file flavor → lines of "name<TAB>command"
  local f=$1 flavor=$2 latency
  if [ "$flavor" = ndjson ]; then latency='"request_time":([0-9.]+)'; else latency='" ([0-9]+[.][0-9]{3}) '; fi
  printf '%s\t%s\n' "cat > /dev/null" "cat '$f' > /dev/null"
  printf '%s\t%s\n' "wc -l" "wc -l '$f'"
  command -v rg >/dev/null && printf '%s\t%s\n' "rg -c error_code" "rg -c error_code '$f'"
  python3 -c 'import duckdb' 2>/dev/null && printf '%s\t%s\n' "DuckDB (regex + GROUP BY + quantile)" "duckdb_query '$f' '$latency'"
  printf '%s\t%s\n' "cts-logscan, 1 core" "taskset -c 0 $BIN --threads 1 '$f' -o /dev/null"
  printf '%s\t%s\n' "cts-logscan --threads 2" "$BIN --threads 2 '$f' -o /dev/null"
  printf "%s\t%s\n" "stdin: cat file into cts-logscan -" "cat '$f' | $BIN - -o /dev/null"
  printf '%s\t%s\n' "4× file via stdin (memory check)" "cat '$f' '$f' '$f' '$f' | $BIN - -o /dev/null"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for flavor in ndjson nginx; do
  f="$DIR/$flavor-$SIZE.log"
  bytes=$(stat -c %s "$f")
  cat "$f" > /dev/null  # warm the page cache
  results=$(mktemp -d)
  mapfile -t tools < <(tools_for "$f" "$flavor")
  for run in $(seq "$RUNS"); do
    for i in "${!tools[@]}"; do
      cmd=${tools[$i]#*$'\t'}
      $TIME -f '%e %U %S %M' -o "$results/$i.$run" bash -c "$cmd" > /dev/null
    done
  done
  ref_wall=""
  rows=()
  for i in "${!tools[@]}"; do
    name=${tools[$i]%%$'\t'*}
    wall=$(for r in $(seq "$RUNS"); do awk '{print $1}' "$results/$i.$r"; done | median)
    cpu=$(for r in $(seq "$RUNS"); do awk '{print $2 + $3}' "$results/$i.$r"; done | median)
    rss=$(for r in $(seq "$RUNS"); do awk '{print $4}' "$results/$i.$r"; done | median)
    [ "$name" = "cts-logscan --threads 2" ] && ref_wall=$wall
    rows+=("$name|$wall|$cpu|$rss")
  done
  echo
  echo "### $flavor corpus: $f ($bytes bytes), median of $RUNS runs"
  echo
  echo "| tool | wall s | CPU s | peak RSS MiB | GB/s | wall ÷ cts-logscan -j2 |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for row in "${rows[@]}"; do
    IFS='|' read -r name wall cpu rss <<< "$row"
    scale=1; case $name in 4×*) scale=4 ;; esac
    awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" -v s="$scale" -v ref="$ref_wall" 'BEGIN {
      gbs = (w > 0) ? b * s / w / 1e9 : 0
      printf "| %s | %.2f | %.2f | %.0f | %.2f | %.2f |\n", n, w, c, r / 1024, gbs, (ref > 0) ? w / ref : 0 }'
  done
  rm -rf "$results"
done
