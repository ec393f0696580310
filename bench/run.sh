#!/usr/bin/env bash
# strata's benchmark: generate the image set deterministically, then time strata, the
# decompression floors and the peers (diving 0.12, dive 0.13.1) side by side, and print a table
# of medians (wall, CPU, peak RSS) with ratios.
#
#   bench/run.sh [OUT_DIR] [SET...]        OUT_DIR defaults to bench/out (gitignored)
#
# Sets: small (200,000 small files, 250 directory deletions; OCI gzip + docker-archive),
# small-zstd, debian (Debian-like image, OCI gzip + docker-archive), million (1,000,000 paths),
# bigfile (one 2 GiB file), cache (an image sharing small's base layer, cold then warm --cache),
# and images shaped as people build them, one layer holding most bytes: dominant (a Debian
# package install, ~450 MB of tar in 25,000 files), python (site-packages, ~300 MB), node
# (node_modules, ~220 MB), gib (one 1 GiB layer of 256 KiB files).
# Default: all of them. Images are generated once (bench/gen.py, deterministic) and reused
# while their generator arguments are unchanged.
#
# Environment: REPEAT (runs per tool, median reported; default 5), DIVE_TIMEOUT (seconds,
# default 600; dive runs once per image), DIVE (default: dive on PATH; empty to skip),
# DIVING (default: diving on PATH or ~/.cargo/bin/diving; empty to skip).
# Needs: cargo, python3, /usr/bin/time (Debian package time), igzip (isal), zstd.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-bench/out}
shift || true
SETS=${*:-small small-zstd debian million bigfile cache dominant python node gib}
REPEAT=${REPEAT:-5}
DIVE_TIMEOUT=${DIVE_TIMEOUT:-600}
DIVE=${DIVE-$(command -v dive || true)}
DIVING=${DIVING-$(command -v diving || ls ~/.cargo/bin/diving 2>/dev/null || true)}
TIMEOUT=${TIMEOUT:-1800}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.tsv
: > "$RESULTS"
BUSY=$OUT/busy.tsv
: > "$BUSY"

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }

echo "== building (release)" >&2
cargo build --release --quiet
STRATA=$ROOT/target/release/strata
FLOOR=$(cargo bench --bench floor --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "floor" and m.get("executable"):
        print(m["executable"])')
[ -x "$FLOOR" ] || { echo "could not build the floor bench"; exit 2; }

# gen NAME ARGS...: generate OUT/NAME unless it exists with the same arguments.
gen() {
  local name=$1; shift
  local stamp="$*"
  if [ -f "$OUT/$name/.stamp" ] && [ "$(cat "$OUT/$name/.stamp")" = "$stamp" ]; then return; fi
  echo "== generating $name: gen.py $stamp" >&2
  python3 bench/gen.py "$OUT/$name" "$@" >&2
  echo "$stamp" > "$OUT/$name/.stamp"
}

# timed SET TOOL REP CMD...: one run, appended to results.tsv (wall user sys rss status).
timed() {
  local set=$1 tool=$2 rep=$3; shift 3
  local tf; tf=$(mktemp)
  local status=0
  /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" > /dev/null 2> "$OUT/last.err" || status=$?
  local t; t=$(tail -1 "$tf"); rm -f "$tf"
  local wall user sys rss
  read -r wall user sys rss <<< "$t"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$tool" "$rep" "$wall" "$user" "$sys" "$rss" "$status" >> "$RESULTS"
  if [ "$status" != 0 ] && [ "$status" != 1 ]; then
    echo "   $tool on $set exited $status: $(tail -2 "$OUT/last.err" | tr '\n' ' ')" >&2
  fi
  echo "   $set $tool #$rep: $t (exit $status)" >&2
}

# blobs DIR: the layer blobs of the OCI layout, largest first.
blobs() {
  python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
def blob(dg): return os.path.join(d, "blobs", *dg.split(":"))
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(idx["manifests"][0]["digest"])))
for l in sorted(m["layers"], key=lambda l: -l["size"]):
    print(blob(l["digest"]))
PY
}

# parallel_dc TOOL DIR: every blob through `TOOL -dc`, two at a time (the cores), largest first.
parallel_dc() {
  blobs "$2" | xargs -P "$(nproc)" -I{} sh -c "$1 -dc < {} > /dev/null"
}

# busy SET IMAGE: where the two cores go while the image's longest layer is read, from one run
# with STRATA_TRACE: its reader's and its hash thread's CPU time against the read's wall time
# (busy.tsv: set, layer, read wall ms, reader busy ms, hash thread busy ms or -, the share of
# both cores' time during the read that neither used).
busy() {
  local set=$1 image=$2
  STRATA_TRACE=1 "$STRATA" analyze "$image" --quiet 2>&1 >/dev/null | python3 -c '
import re, sys
reads, hashes = [], []
for line in sys.stdin:
    m = re.search(r" read (\d+) busy ([\d.]+) ms of ([\d.]+) ms", line)
    if m:
        reads.append((float(m[3]), int(m[1]), float(m[2]), float(line.split()[0])))
    m = re.search(r"strata-hash hash .* busy ([\d.]+) ms of ([\d.]+) ms", line)
    if m:
        hashes.append((float(line.split()[0]), float(m[1])))
if not reads:
    sys.exit()
wall, layer, busy, end = max(reads)
# The hash thread of that layer ends just before its reader does (it is joined at the end).
h = [b for t, b in hashes if end - wall <= t <= end + 0.5]
hb = max(h) if h else None
idle = 1 - (busy + (hb or 0)) / (2 * wall) if wall > 0 else 0
print(f"{sys.argv[1]}\t{layer}\t{wall:.1f}\t{busy:.1f}\t{hb if hb is not None else chr(45)}\t{idle:.2f}")
' "$set" >> "$BUSY" || true
}

# run_set SET IMAGE KIND: all tools on one image, REPEAT times, interleaved.
run_set() {
  local set=$1 image=$2 kind=$3
  echo "== $set ($image)" >&2
  for rep in $(seq "$REPEAT"); do
    timed "$set" floor "$rep" "$FLOOR" "$image"
    timed "$set" floor+sha256 "$rep" "$FLOOR" "$image" --sha256
    # The same plus every tar header walked (what listing the paths costs at the least).
    timed "$set" floor+sha256+tar "$rep" "$FLOOR" "$image" --sha256 --tar
    # No digests, every header walked and every file's content hashed as strata hashes it:
    # the least `--no-verify` can do (a 2 GiB file of zeros takes longer to hash than to inflate).
    timed "$set" floor+tar+xxh3 "$rep" "$FLOOR" "$image" --tar --content
    case $kind in
      gzip) timed "$set" "igzip -dc" "$rep" bash -c "$(declare -f blobs parallel_dc); parallel_dc igzip $image" ;;
      zstd) timed "$set" "zstd -dc" "$rep" bash -c "$(declare -f blobs parallel_dc); parallel_dc zstd $image" ;;
    esac
    timed "$set" strata "$rep" "$STRATA" analyze "$image" --quiet
    timed "$set" "strata --no-verify" "$rep" "$STRATA" analyze "$image" --quiet --no-verify
    # The explorer: load, build its views and draw the first full screen, then quit (the key
    # script runs once everything is ready; CI=true would make strata a CI run instead).
    timed "$set" "strata TUI ready" "$rep" env -u CI "$STRATA" "$image" --keys q --print --screen 200x60
    if [ -n "$DIVING" ]; then
      # diving reads docker-archive and OCI inputs through its file:// source.
      timed "$set" diving "$rep" env CI=true timeout "$TIMEOUT" "$DIVING" "file://$image" -o "$OUT/diving.json"
    fi
  done
  busy "$set" "$image"
  if [ -n "$DIVE" ] && [ "$kind" = docker ]; then
    timed "$set" dive 1 env CI=true timeout "$DIVE_TIMEOUT" "$DIVE" --source docker-archive "$image" --ci
  fi
}

for set in $SETS; do
  case $set in
    small)
      gen small --files 200000 --layers 10 --deletions 250
      run_set small/oci "$OUT/small/oci" gzip
      run_set small/docker "$OUT/small/docker.tar" docker ;;
    small-zstd)
      gen small-zstd --files 200000 --layers 10 --deletions 250 --zstd --no-docker
      run_set small-zstd/oci "$OUT/small-zstd/oci" zstd ;;
    debian)
      gen debian --profile debian --files 30000
      run_set debian/oci "$OUT/debian/oci" gzip
      run_set debian/docker "$OUT/debian/docker.tar" docker ;;
    million)
      gen million --files 1000000 --layers 3 --deletions 100 --file-size 40 --no-docker
      run_set million/oci "$OUT/million/oci" gzip ;;
    bigfile)
      gen bigfile --profile bigfile --big-file 2147483648 --no-docker
      run_set bigfile/oci "$OUT/bigfile/oci" gzip ;;
    dominant|python|node)
      files=$(case $set in dominant) echo 25000;; python) echo 14000;; node) echo 13500;; esac)
      gen "$set" --profile "$set" --files "$files" --no-docker
      run_set "$set/oci" "$OUT/$set/oci" gzip ;;
    gib)
      gen gib --profile gib --big-file 1073741824 --no-docker
      run_set gib/oci "$OUT/gib/oci" gzip ;;
    cache)
      gen small --files 200000 --layers 10 --deletions 250
      gen small-b --files 200000 --layers 10 --deletions 250 --upper-seed 2 --no-docker
      echo "== cache (small-b shares small's base layer)" >&2
      for rep in $(seq "$REPEAT"); do
        dir=$(mktemp -d)
        timed cache "strata, no cache" "$rep" "$STRATA" analyze "$OUT/small-b/oci" --quiet
        timed cache "strata --cache, cold" "$rep" env STRATA_CACHE_DIR="$dir" "$STRATA" analyze "$OUT/small/oci" --quiet --cache
        timed cache "strata --cache, shared base" "$rep" env STRATA_CACHE_DIR="$dir" "$STRATA" analyze "$OUT/small-b/oci" --quiet --cache
        rm -rf "$dir"
      done ;;
    *) echo "unknown set $set" >&2; exit 2 ;;
  esac
done

python3 bench/table.py "$RESULTS" "$BUSY"
