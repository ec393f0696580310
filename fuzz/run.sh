#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after the other, and prints how
# many inputs each ran and what it found. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly; cargo install cargo-fuzz
#   fuzz/run.sh SECONDS [TARGET...]   (SECONDS of wall time each; the CPU time is printed)
# Corpora grow in fuzz/corpus/TARGET (seeded from testdata by fuzz/seed.py); a crash is left
# in fuzz/artifacts/TARGET. Keep every crash as a regression: copy it into
# fuzz/regressions/TARGET/ (tests/trust.rs replays them all in `cargo test`).
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
shift || true
TARGETS=${*:-$(cargo +nightly fuzz list)}
JOBS=${JOBS:-1}
python3 seed.py
status=0
for t in $TARGETS; do
  mkdir -p "corpus/$t" "regressions/$t"
  log=$(mktemp)
  echo "== $t: ${SECONDS_EACH}s" >&2
  cpu=$(mktemp)
  if /usr/bin/time -f '%U %S' -o "$cpu" cargo +nightly fuzz run "$t" "corpus/$t" "regressions/$t" -- \
      -max_total_time="$SECONDS_EACH" -max_len=1048576 -rss_limit_mb=2048 -timeout=30 \
      -print_final_stats=1 -jobs="$JOBS" -workers="$JOBS" > "$log" 2>&1; then
    result="no crash"
  else
    result="CRASH (see fuzz/artifacts/$t)"
    status=1
  fi
  runs=$(grep -h "stat::number_of_executed_units" "$log" fuzz-*.log 2>/dev/null | awk '{s+=$2} END {print s+0}')
  cpu_s=$(awk '{printf "%d", $1 + $2}' "$cpu")
  echo "$t: $runs executions in ${cpu_s} CPU-seconds, corpus $(ls "corpus/$t" | wc -l) inputs, $result"
  rm -f "$log" "$cpu" fuzz-*.log
done
exit $status
