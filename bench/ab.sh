#!/usr/bin/env bash
# A/B regression check: two strata binaries on the benchmark images, runs interleaved (A, B, A,
# B, …) so that the machine's drift hits both alike; prints the median wall time, CPU time and
# peak RSS of each, the ratio B/A, and fails (exit 1) when B is slower or larger than A by more
# than LIMIT percent on any image. Run it before merging a change to a hot path:
#
#   cargo build --release && cp target/release/strata /tmp/strata-new
#   git stash; cargo build --release && cp target/release/strata /tmp/strata-old; git stash pop
#   bench/ab.sh /tmp/strata-old /tmp/strata-new
#
#   bench/ab.sh OLD NEW [IMAGE...]   IMAGE defaults to every image bench/run.sh generated
#
# Build both sides the same way (`cargo build --release`, not after `cargo bench`), use
# REPEAT=15 or more on the sub-second images, and check a gain against a second build: on the
# 2-core VM two identical binaries differed by up to 11 %, two builds of one source by 40 %
# (docs/performance.md, "How far a comparison can be trusted here").
#
# Environment: REPEAT (runs per binary and image, default 7), LIMIT (percent, default 3),
# ARGS (default "analyze IMAGE --quiet"; IMAGE is replaced). Images come from bench/run.sh
# (bench/out); generate them first with `bench/run.sh bench/out SET` if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,21p' "$0"; exit 2; }
OLD=$1 NEW=$2
shift 2
REPEAT=${REPEAT:-7}
LIMIT=${LIMIT:-3}
ARGS=${ARGS:-analyze IMAGE --quiet}
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }
if [ $# -gt 0 ]; then
  IMAGES=("$@")
else
  IMAGES=()
  for d in bench/out/*/oci bench/out/*/docker.tar; do [ -e "$d" ] && IMAGES+=("$d"); done
fi
[ ${#IMAGES[@]} -gt 0 ] || { echo "no images: run bench/run.sh first"; exit 2; }

samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
for image in "${IMAGES[@]}"; do
  for ((i = 0; i < REPEAT; i++)); do
    for side in A B; do
      bin=$OLD
      [ "$side" = B ] && bin=$NEW
      # shellcheck disable=SC2086
      /usr/bin/time -f "$image $side %e %U %S %M" -a -o "$samples" \
        "$bin" ${ARGS//IMAGE/$image} > /dev/null
    done
  done
done

python3 - "$samples" "$LIMIT" <<'EOF'
import statistics, sys
from collections import defaultdict
rows = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 6:
        continue  # /usr/bin/time's "Command exited with non-zero status" lines
    image, side, wall, user, sys_, rss = parts
    rows[image][side].append((float(wall), float(user) + float(sys_), int(rss) / 1024))
limit = float(sys.argv[2])
worst = 0.0
print(f"{'image':<40} {'wall A':>8} {'wall B':>8} {'B/A':>6}  {'cpu A':>8} {'cpu B':>8} {'B/A':>6}  {'MB A':>7} {'MB B':>7} {'B/A':>6}")
for image, sides in rows.items():
    a = [statistics.median(x) for x in zip(*sides["A"])]
    b = [statistics.median(x) for x in zip(*sides["B"])]
    ratios = [bb / aa if aa else 1.0 for aa, bb in zip(a, b)]
    worst = max(worst, *ratios)
    flag = "  <-- over" if max(ratios) > 1 + limit / 100 else ""
    print(f"{image:<40} {a[0]:8.2f} {b[0]:8.2f} {ratios[0]:6.3f}  {a[1]:8.2f} {b[1]:8.2f} {ratios[1]:6.3f}"
          f"  {a[2]:7.0f} {b[2]:7.0f} {ratios[2]:6.3f}{flag}")
if worst > 1 + limit / 100:
    print(f"SLOWER: B exceeds A by {100 * (worst - 1):.1f}% somewhere (limit {limit}%)")
    sys.exit(1)
print(f"ok: B within {limit}% of A everywhere")
EOF
