#!/usr/bin/env bash
# Runs every fuzz target until it has had SECONDS of CPU time (default 60), one after the
# other, and prints how many inputs each ran and what it found. Needs the nightly toolchain and
# cargo-fuzz:
#   rustup toolchain install nightly; cargo install cargo-fuzz
#   fuzz/run.sh SECONDS [TARGET...]
# CPU time, not wall time: on a machine busy with builds a fuzzer gets a fraction of a core, so
# a target runs in rounds until its CPU time adds up (one round on an idle machine).
# Corpora grow in fuzz/corpus/TARGET (seeded from testdata by fuzz/seed.py); a crash is left
# in fuzz/artifacts/TARGET. Keep every crash as a regression: copy it into
# fuzz/regressions/TARGET/ (tests/it/trust.rs replays them all in `cargo test`).
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
  echo "== $t: ${SECONDS_EACH} CPU-seconds" >&2
  runs=0 cpu_total=0 result="no crash"
  while [ "$cpu_total" -lt "$SECONDS_EACH" ]; do
    log=$(mktemp) cpu=$(mktemp)
    round=$((SECONDS_EACH - cpu_total))
    if ! /usr/bin/time -f '%U %S' -o "$cpu" cargo +nightly fuzz run "$t" "corpus/$t" "regressions/$t" -- \
        -max_total_time="$round" -max_len=1048576 -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -jobs="$JOBS" -workers="$JOBS" > "$log" 2>&1; then
      result="CRASH (see fuzz/artifacts/$t)"
      status=1
    fi
    # A round cut short by a signal prints no stats: count it as none, do not stop the loop.
    runs=$((runs + $({ grep -h "stat::number_of_executed_units" "$log" fuzz-*.log 2>/dev/null ||
      true; } | awk '{s+=$2} END {print s+0}')))
    used=$(awk '{printf "%d", $1 + $2}' "$cpu")
    cpu_total=$((cpu_total + used))
    rm -f "$log" "$cpu" fuzz-*.log
    [ "$result" = "no crash" ] || break
    [ "$used" -gt 0 ] || { result="stopped: a round used no CPU"; status=1; break; }
  done
  echo "$t: $runs executions in ${cpu_total} CPU-seconds, corpus $(ls "corpus/$t" | wc -l) inputs, $result"
done
exit $status
