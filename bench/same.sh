#!/usr/bin/env bash
# Runs two builds of strata over the same invocations and shows every difference in stdout,
# stderr or exit code: the check that a refactor changed no behaviour users can see.
#
#   bench/same.sh OLD_BINARY NEW_BINARY
#
# The invocations cover every subcommand and output format on the committed test images, the
# explorer's printed screens, and bad inputs made here (truncated, corrupt, foreign files), whose
# one-line errors must not drift. Timing lines ("in 0.01 s") are not compared.
set -euo pipefail
old=${1:?usage: bench/same.sh OLD NEW}
new=${2:?usage: bench/same.sh OLD NEW}
cd "$(dirname "$0")/.."
t=testdata/images
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT

# Bad inputs, each a file or directory a user could hand strata.
printf 'not an image\n' >"$bad/text.txt"
mkdir "$bad/empty-dir"
head -c 3000 $t/overlay-docker.tar >"$bad/truncated.tar"
cp -r $t/overlay-oci "$bad/missing-blob"
rm "$(ls -S "$bad"/missing-blob/blobs/sha256/* | head -1)"
cp -r $t/overlay-oci "$bad/corrupt-blob"
big=$(ls -S "$bad"/corrupt-blob/blobs/sha256/* | head -1)
printf 'XXXX' | dd of="$big" bs=1 seek=100 conv=notrunc status=none
cp -r $t/overlay-oci "$bad/bad-index"
printf '{"schemaVersion": 2, "manifests": [' >"$bad/bad-index/index.json"
{ gzip -c $t/overlay-docker.tar || true; } | head -c 5000 >"$bad/truncated.tar.gz"

cases=(
  "analyze $t/overlay-oci"
  "analyze $t/overlay-oci --format json"
  "analyze $t/overlay-docker.tar --top 3"
  "analyze $t/overlay.oci.tar --format json --top 2"
  "analyze $t/overlay-zstd"
  "analyze $t/overlayfs-oci"
  "analyze $t/multi-oci --platform linux/arm64"
  "analyze $t/two-images-docker.tar --tag second:latest"
  "analyze $t/docker25-containerd.tar --no-verify"
  "analyze oci:$t/overlay-plain"
  "analyze docker-archive:$t/overlay-docker.tar --format json"
  "ci $t/overlay-oci"
  "ci $t/overlay-oci --format json"
  "ci $t/overlay-oci --metrics dive --lowestEfficiency 0.99"
  "ci $t/overlay-docker.tar --highestWastedBytes 1KB --highestUserWastedPercent 0.01"
  "ci $t/overlay-oci --ci-config testdata/dive-ci/example.dive-ci"
  "ci $t/overlay-oci --ci-config testdata/dive-ci/bad-value.dive-ci"
  "ci $t/overlay-oci --ci-config testdata/dive-ci/unknown-keys.dive-ci"
  "verify $t/overlay-oci"
  "verify $t/overlay-oci --format json"
  "verify $bad/corrupt-blob"
  "verify $bad/corrupt-blob --format json"
  "compare $t/compare-service-day1 $t/compare-service-day2"
  "compare $t/compare-service-day1 $t/compare-service-day2 --format json"
  "compare $t/compare-service-day1 $t/compare-service-day2 --format markdown --files"
  "compare $t/compare-program-single $t/compare-program-multi --fail-if-larger 1%"
  "compare $t/compare-program-single $t/compare-program-multi --depth 1 --top 3"
  "compare $t/compare-service-day1 $t/compare-service-day2 --print --screen 100x30"
  "$t/overlay-oci --print --screen 120x40"
  "$t/overlay-oci --keys tab,j,j --print --screen 100x30"
  "analyze $bad/text.txt"
  "analyze $bad/empty-dir"
  "analyze $bad/truncated.tar"
  "analyze $bad/truncated.tar.gz"
  "analyze $bad/missing-blob"
  "analyze $bad/corrupt-blob"
  "analyze $bad/corrupt-blob -i"
  "analyze $bad/bad-index"
  "analyze $bad/does-not-exist"
  "analyze no-such-image:latest"
  "analyze oci-archive:$t/overlay-docker.tar"
  "analyze $t/overlay-oci --platform linux/s390x"
  "analyze $t/two-images-docker.tar --tag nope:latest"
  "analyze $t/overlay-oci --threads 0"
  "compare $t/overlay-oci"
  "ci $t/overlay-oci --lowestEfficiency 2"
  "analyse $t/overlay-oci"
  "verify $t/overlay-oci --format markdown"
)

differ=0
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    set +e
    CI= "$bin" $c </dev/null >"$bad/$b.out" 2>"$bad/$b.err"
    echo "exit $?" >>"$bad/$b.err"
    set -e
    sed -i -E 's/[0-9]+(\.[0-9]+)? ?(ms|s)\b/T/g' "$bad/$b.out" "$bad/$b.err"
    sed -i "s#$bad#BAD#g; s#$(basename "$bin")#strata#g" "$bad/$b.out" "$bad/$b.err"
  done
  if ! cmp -s "$bad/old.out" "$bad/new.out" || ! cmp -s "$bad/old.err" "$bad/new.err"; then
    differ=$((differ + 1))
    echo "== differs: strata $c"
    diff -u "$bad/old.out" "$bad/new.out" | sed -n 3,40p || true
    diff -u "$bad/old.err" "$bad/new.err" | sed -n 3,40p || true
  fi
done
echo "${#cases[@]} invocations, $differ differ"
[ $differ -eq 0 ]
