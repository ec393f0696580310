#!/usr/bin/env bash
# Rebuild every test image under testdata/images/ from scratch.
#
# Needs (Debian package names): buildah skopeo busybox-static tar python3
#   podman (only for two-images-docker.tar: `podman save --multi-image-archive`)
#   umoci, zstd (only for the verification at the end)
#   git (only for findings-bad: its build context is made a checkout)
# Run as root (buildah/podman with the vfs driver and chroot isolation).
# No network is needed (every image is FROM scratch) except by packages-oci.
#
# It uses its own temporary container storage (vfs driver, --root/--runroot
# under a temp dir), so it neither depends on nor changes the machine's
# /var/lib/containers. Outputs are removed first; the script is idempotent.
# The images are committed; CI does not run this. Digests change on every
# rebuild (timestamps); the script rewrites expected.json at the end
# (the README's appendix digests then need a refresh too).
#
# `./build.sh compare` rebuilds only the compare images (compare-*), on the
# base layer of the committed two-images-docker.tar, so the other images and
# their digests stay as they are (and git stores the shared base blob once).
#
# `./build.sh secrets` likewise rebuilds only secrets-oci (strata/secrets): a key
# copied in and deleted later, an .env, a token in ENV, a build argument (secrets/).
#
# `./build.sh packages` likewise rebuilds only packages-oci (strata/packages):
# Debian packages installed by the host's dpkg with --root (the busybox base
# has none), fetched with `apt-get download` at the versions pinned in
# packages/debs.list (needs dpkg, apt and its lists: `apt-get update`, and
# Debian's mirror; the only step that uses the network).
#
# `./build.sh rpm` likewise rebuilds only rpm-oci (strata/rpm), FROM scratch, and
# rpm/bdb-*/Packages: needs rpm (Debian's, with rpmbuild), db-util and busybox-static.
#
# `./build.sh staged` likewise rebuilds only findings-staged (strata/findings:staged,
# from findings/staged/): a build stage copies the context, the final stage the
# stage's directory (needs git).
#
# `./build.sh findings` likewise rebuilds only findings-bad and findings-tidy
# (strata/findings:bad and :tidy, from findings/): one image with an
# anti-pattern per finding, one built as the guides say. The bad context is
# made a git checkout (git init, one commit) in the temp dir first, so that its
# COPY ships a real .git (needs git).
set -euo pipefail
ONLY="${1:-all}"

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$HERE/images"
WORK="$(mktemp -d /tmp/strata-testdata.XXXXXX)"
[ -n "${KEEP_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT

ROOT="$WORK/storage"; RUNROOT="$WORK/run"
STORE=(--root "$ROOT" --runroot "$RUNROOT" --storage-driver vfs)
CS="containers-storage:[vfs@$ROOT+$RUNROOT]"
export BUILDAH_ISOLATION=chroot
# Keep buildah/skopeo/podman away from the user's registries.conf short-name
# prompts and signature policy quirks.
cat > "$WORK/policy.json" <<'P'
{"default":[{"type":"insecureAcceptAnything"}]}
P
SK=(skopeo --policy "$WORK/policy.json")

# ---------------------------------------------------------------- compare
# Two pairs for `strata compare`: one program built single-stage and
# multi-stage, and yesterday's/today's build of a service (same base, shared
# first RUN, a changed COPY, a RUN that grows, one RUN dropped, one added).
build_compare() {
  local c="$HERE/compare"
  rm -rf "$OUT"/compare-*
  bud -t strata/program:single -f "$c/program/Dockerfile.single" "$c/program"
  bud -t strata/program:multi -f "$c/program/Dockerfile.multi" "$c/program"
  bud -t strata/service:day1 -f "$c/service/Dockerfile.day1" "$c/service"
  bud -t strata/service:day2 -f "$c/service/Dockerfile.day2" "$c/service"
  local name
  for name in program:single program:multi service:day1 service:day2; do
    "${SK[@]}" copy "${CS}localhost/strata/$name" "oci:$OUT/compare-${name/:/-}:latest"
  done
}
bud() { buildah "${STORE[@]}" bud --layers --isolation chroot --pull=never "$@"; }

# ---------------------------------------------------------------- findings
# strata/findings:bad: a copy of findings/bad made a git checkout (fixed
# author, dates and branch: the commit id stays; git's zlib may not), built
# without a .dockerignore. strata/findings:tidy keeps its HEALTHCHECK only in
# the docker format (an OCI config has no Healthcheck: buildah drops it, and so
# does skopeo converting to an OCI manifest), so its layout holds the docker
# manifest and config as they are (`--format v2s2`).
# checkout SRC CTX MESSAGE: a copy of SRC at CTX made a git checkout of one
# commit, with fixed author, dates and branch (the commit id stays).
checkout() {
  cp -a "$1" "$2"
  chmod -R go-w "$2"
  local git=(git -C "$2" -c init.defaultBranch=main -c core.excludesFile=/dev/null
             -c user.name=strata -c user.email=strata@example.invalid)
  "${git[@]}" init -q
  "${git[@]}" add -A
  GIT_AUTHOR_DATE=@1700000000 GIT_COMMITTER_DATE=@1700000000 \
    "${git[@]}" commit -q -m "$3"
}
build_findings() {
  local f="$HERE/findings" ctx="$WORK/findings-bad"
  rm -rf "$OUT/findings-bad" "$OUT/findings-tidy" "$ctx"
  checkout "$f/bad" "$ctx" "service: first version"
  bud -t strata/findings:bad -f "$ctx/Dockerfile" "$ctx"
  bud --format docker -t strata/findings:tidy -f "$f/tidy/Dockerfile" "$f/tidy"
  "${SK[@]}" copy "${CS}localhost/strata/findings:bad" "oci:$OUT/findings-bad:latest"
  "${SK[@]}" copy --format v2s2 "${CS}localhost/strata/findings:tidy" "oci:$OUT/findings-tidy:latest"
}
# strata/findings:staged: findings/staged made a git checkout as findings/bad
# is, built in two stages; the final stage copies the build stage's /src, the
# whole context with it (docker format, for its HEALTHCHECK).
build_staged() {
  local ctx="$WORK/findings-staged"
  rm -rf "$OUT/findings-staged" "$ctx"
  checkout "$HERE/findings/staged" "$ctx" "staged: first version"
  bud --format docker -t strata/findings:staged -f "$ctx/Dockerfile" "$ctx"
  "${SK[@]}" copy --format v2s2 "${CS}localhost/strata/findings:staged" "oci:$OUT/findings-staged:latest"
}
if [ "$ONLY" = staged ]; then
  "${SK[@]}" copy "docker-archive:$OUT/two-images-docker.tar:docker.io/strata/base:1" \
    "${CS}localhost/strata/base:1"
  build_staged
  python3 "$HERE/expected.py" --write
  echo "built findings-staged into $OUT"
  exit 0
fi
if [ "$ONLY" = findings ]; then
  "${SK[@]}" copy "docker-archive:$OUT/two-images-docker.tar:docker.io/strata/base:1" \
    "${CS}localhost/strata/base:1"
  build_findings
  python3 "$HERE/expected.py" --write
  echo "built findings images into $OUT"
  exit 0
fi

# ---------------------------------------------------------------- packages
# strata/packages:latest: the host's dpkg installs into a scratch root R
# (--root), and each dpkg run becomes one layer (see packages/Dockerfile).
# rootdiff OLD NEW OUTDIR writes OUTDIR/changed.list (absolute paths of
# entries NEW adds or changes: type, mode, owner; for non-directories also
# mtime and bytes or target, as a layer diff compares them) and
# OUTDIR/removed.list (topmost paths NEW no longer has).
rootdiff() {
  python3 - "$@" <<'PY'
import os, stat, sys
old, new, out = sys.argv[1:4]
def walk(top):
    seen = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            key = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid)
            if not stat.S_ISDIR(st.st_mode):
                key += (st.st_mtime_ns,)
            if stat.S_ISREG(st.st_mode):
                key += (open(p, "rb").read(),)
            elif stat.S_ISLNK(st.st_mode):
                key += (os.readlink(p),)
            seen["/" + os.path.relpath(p, top)] = key
    return seen
a, b = walk(old), walk(new)
changed = sorted(p for p in b if a.get(p) != b[p])
gone = sorted(p for p in a if p not in b)
removed = [p for p in gone if os.path.dirname(p) not in gone]
open(os.path.join(out, "changed.list"), "w").write("".join(p + "\n" for p in changed))
open(os.path.join(out, "removed.list"), "w").write("".join(p + "\n" for p in removed))
PY
}
build_packages() {
  local p="$HERE/packages" ctx="$WORK/packages-ctx" R="$WORK/dpkg-root" debs="$WORK/debs"
  rm -rf "$OUT/packages-oci"
  mkdir -p "$ctx/l2" "$ctx/l3/root" "$debs" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" \
    "$R/var/lib/dpkg/triggers" "$R/var/lib/dpkg/alternatives" "$R/var/log"
  cp -a "$p/Dockerfile" "$p/app" "$p/records" "$ctx/"
  : > "$R/var/lib/dpkg/status"; : > "$R/var/lib/dpkg/available"
  # Merged /usr for /lib only, as Debian 12 roots have it; /bin stays the
  # base's real directory (a bin -> usr/bin in L1 would replace busybox's).
  mkdir -p "$R/usr/lib"; ln -s usr/lib "$R/lib"
  local step name ver sum
  local -a step1=() step2=()
  while read -r step name ver sum; do
    (cd "$debs" && apt-get download -q "$name=$ver" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    local deb; deb="$(ls "$debs/${name}_${ver//:/%3a}_"*.deb)"
    echo "$sum  $deb" | sha256sum -c --quiet
    if [ "$step" = 1 ]; then step1+=("$deb"); else step2+=("$deb"); fi
  done < <(grep -v '^#' "$p/debs.list")
  # No libc6 in R: only the Depends need forcing; no maintainer scripts run
  # (none of these packages has one) and the ldconfig triggers stay unrun.
  dpk() { dpkg --root="$R" --log="$R/var/log/dpkg.log" --force-depends --no-triggers "$@"; }
  dpk -i "${step1[@]}"
  tar --sort=name --numeric-owner -C "$R" -cf "$ctx/l1.tar" .
  cp -a "$R" "$WORK/R1"
  dpk -i "${step2[@]}"
  rootdiff "$WORK/R1" "$R" "$ctx/l2"
  [ ! -s "$ctx/l2/removed.list" ] || { echo "dpkg -i removed paths?" >&2; exit 1; }
  # The tar names each changed path and its parent directories, like a layer diff.
  python3 -c 'import sys, os
names = set()
for p in open(sys.argv[1]).read().split():
    while p != "/":
        names.add(p.lstrip("/")); p = os.path.dirname(p)
print("\n".join(sorted(names)))' "$ctx/l2/changed.list" > "$ctx/l2/names"
  tar --no-recursion --numeric-owner -C "$R" -cf "$ctx/l2.tar" -T "$ctx/l2/names"
  cp -a "$R" "$WORK/R2"
  dpk -r tree
  rootdiff "$WORK/R2" "$R" "$ctx/l3"
  while read -r f; do
    mkdir -p "$ctx/l3/root$(dirname "$f")"; cp -p "$R$f" "$ctx/l3/root$f"
  done < "$ctx/l3/changed.list"
  bud -t strata/packages:latest -f "$ctx/Dockerfile" "$ctx"
  "${SK[@]}" copy "${CS}localhost/strata/packages:latest" "oci:$OUT/packages-oci:latest"
}
# ---------------------------------------------------------------- rpm
# strata/rpm:latest: the host's rpm (Debian's rpm 4.18, sqlite database) installs
# packages rpmbuild makes from rpm/*.spec into a scratch root R (see rpm/Dockerfile).
# For every state of R's database, rpm/rpm-qa/<sha256 of rpmdb.sqlite>.txt keeps what
# rpm itself lists (packages, their files' modes and paths): the oracle's source.
build_rpm() {
  local p="$HERE/rpm" ctx="$WORK/rpm-ctx" R="$WORK/rpm-root" top="$WORK/rpm-top"
  rm -rf "$OUT/rpm-oci" "$p/rpm-qa"
  mkdir -p "$ctx/l2/root" "$R" "$top" "$p/rpm-qa"
  cp -a "$p/Dockerfile" "$p/tinytool.conf" "$p/app" "$ctx/"
  install -m 0755 /bin/busybox "$ctx/busybox"
  local rb=(rpmbuild -bb --nodeps --quiet --define "_topdir $top")
  "${rb[@]}" "$p/libtiny.spec"
  "${rb[@]}" --define "ver 1.0" --define "toolsize 900" --define "datasize 5000" \
    --define "datafile old.dat" "$p/tinytool.spec"
  "${rb[@]}" --define "ver 1.1" --define "epochnum 1" --define "toolsize 1100" \
    --define "datasize 7000" --define "datafile new.dat" "$p/tinytool.spec"
  # Debian's rpm says it should not install packages on Debian; --root makes it right.
  rpmr() { rpm --root "$R" --dbpath /var/lib/rpm "$@" 2> >(grep -v -e 'use Alien' -e 'assuming you know' >&2); }
  listing() {
    local d="$WORK/rpm-q"; rm -rf "$d"; mkdir -p "$d"; cp "$R/var/lib/rpm/rpmdb.sqlite" "$d/"
    rpm --dbpath "$d" -qa --qf 'P\t%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n[F\t%{FILEMODES:octal}\t%{FILENAMES}\n]' \
      > "$p/rpm-qa/$(sha256sum < "$d/rpmdb.sqlite" | cut -d' ' -f1).txt"
  }
  rpmr --initdb
  rpmr -i --nodeps "$top"/RPMS/x86_64/tinytool-1.0-1.x86_64.rpm "$top"/RPMS/x86_64/libtiny-2.0-3.x86_64.rpm \
    "$top"/RPMS/x86_64/libtiny-devel-2.0-3.x86_64.rpm "$top"/RPMS/noarch/libtiny-extras-2.0-3.noarch.rpm
  listing
  tar --sort=name --numeric-owner -C "$R" -cf "$ctx/l1.tar" .
  cp -a "$R" "$WORK/rpm-R1"
  rpmr -e --nodeps libtiny-extras
  rpmr -U --nodeps "$top"/RPMS/x86_64/tinytool-1.1-1.x86_64.rpm
  listing
  # The same headers in BerkeleyDB, as rpm < 4.16 kept them (key 0: the last package
  # number; key N: package N's header), written by libdb's db_load (db-util) with 4 KiB
  # pages (headers in overflow pages) and 16 KiB pages (headers inline), each with what
  # rpm's own BerkeleyDB reader (bdb_ro) lists.
  local size
  for size in 4096 16384; do
    mkdir -p "$p/bdb-$size"; rm -f "$p/bdb-$size/Packages"
    python3 - "$R/var/lib/rpm/rpmdb.sqlite" "$size" > "$WORK/bdb.txt" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = c.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
key = lambda n: " " + n.to_bytes(4, "little").hex()
print("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize=%s\nHEADER=END" % sys.argv[2])
print(key(0)); print(key(max(h for h, _ in rows)))
for h, b in rows:
    print(key(h)); print(" " + b.hex())
print("DATA=END")
PY
    db_load -f "$WORK/bdb.txt" "$p/bdb-$size/Packages"
    local d="$WORK/rpm-bdb"; rm -rf "$d"; mkdir -p "$d"; cp "$p/bdb-$size/Packages" "$d/"
    rpm --define '_db_backend bdb_ro' --dbpath "$d" -qa \
      --qf 'P\t%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n[F\t%{FILEMODES:octal}\t%{FILENAMES}\n]' \
      2>/dev/null > "$p/bdb-$size/rpm-qa.txt"
  done
  rootdiff "$WORK/rpm-R1" "$R" "$ctx/l2"
  while read -r f; do
    mkdir -p "$ctx/l2/root$(dirname "$f")"; cp -a "$R$f" "$ctx/l2/root$f"
  done < "$ctx/l2/changed.list"
  bud -t strata/rpm:latest -f "$ctx/Dockerfile" "$ctx"
  "${SK[@]}" copy "${CS}localhost/strata/rpm:latest" "oci:$OUT/rpm-oci:latest"
}
if [ "$ONLY" = rpm ]; then
  build_rpm
  echo "built rpm-oci into $OUT"
  exit 0
fi
# ---------------------------------------------------------------- secrets
# strata/secrets:latest: throwaway and made-up secrets where builds leave them (see
# secrets/README.md); the build argument's value is made up too.
build_secrets() {
  rm -rf "$OUT/secrets-oci"
  bud -t strata/secrets:latest -f "$HERE/secrets/Dockerfile" \
    --build-arg NPM_TOKEN=npm_StrataTestOnlyMadeUpNpmToken00000000 "$HERE/secrets/context"
  "${SK[@]}" copy "${CS}localhost/strata/secrets:latest" "oci:$OUT/secrets-oci:latest"
}
if [ "$ONLY" = compare ] || [ "$ONLY" = packages ] || [ "$ONLY" = secrets ]; then
  "${SK[@]}" copy "docker-archive:$OUT/two-images-docker.tar:docker.io/strata/base:1" \
    "${CS}localhost/strata/base:1"
  "build_$ONLY"
  echo "built $ONLY images into $OUT"
  exit 0
fi

rm -rf "$OUT" "$HERE/base/rootfs.tar"
mkdir -p "$OUT"

# ---------------------------------------------------------------- base rootfs
# /bin/busybox (static) + applet symlinks + /etc + /tmp, deterministic tar.
R="$WORK/rootfs"
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
install -m 0755 /bin/busybox "$R/bin/busybox"
for a in sh ls cat cp mv rm rmdir mkdir ln chmod chown touch head tr seq echo printf true stat; do
  ln -s busybox "$R/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\n' > "$R/etc/group"
chmod 1777 "$R/tmp"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -C "$R" -cf "$HERE/base/rootfs.tar" .

# The same two images once more with the overlay storage driver (needs kernel
# overlayfs, root): its layer diffs come from the overlayfs upper dir, so it
# emits what vfs cannot (opaque whiteouts, copy-ups of hard-linked files).
ROOT2="$WORK/storage-ovl"; RUNROOT2="$WORK/run-ovl"
STORE2=(--root "$ROOT2" --runroot "$RUNROOT2" --storage-driver overlay)
CS2="containers-storage:[overlay@$ROOT2+$RUNROOT2]"
bud2() { buildah "${STORE2[@]}" bud --layers --isolation chroot --pull=never "$@"; }

# ---------------------------------------------------------------- builds
bud -t strata/base:1 "$HERE/base"
bud -t strata/overlay:latest "$HERE/overlay"
bud2 -t strata/base:1 "$HERE/base"
bud2 -t strata/overlay:latest "$HERE/overlay"
buildah "${STORE[@]}" manifest create strata/multi:latest
# One platform per invocation: buildah 1.28 building a comma list runs them
# concurrently and sometimes leaks arm's variant "v7" into the amd64 and
# arm64 configs and index entries (seen here); sequential builds are clean.
for plat in linux/amd64 linux/arm64 linux/arm/v7; do
  bud --platform "$plat" --manifest strata/multi:latest "$HERE/multi"
done

# ---------------------------------------------------------------- exports
IMG="${CS}localhost/strata/overlay:latest"
"${SK[@]}" copy "$IMG" "oci:$OUT/overlay-oci:latest"                       # gzip (default)
"${SK[@]}" copy --dest-compress-format zstd "$IMG" "oci:$OUT/overlay-zstd:latest"
"${SK[@]}" copy --dest-oci-accept-uncompressed-layers "$IMG" "oci:$OUT/overlay-plain:latest"  # plain tar
"${SK[@]}" copy "$IMG" "docker-archive:$OUT/overlay-docker.tar:strata/overlay:latest"
"${SK[@]}" copy "$IMG" "oci-archive:$OUT/overlay.oci.tar:latest"
"${SK[@]}" copy "${CS2}localhost/strata/overlay:latest" "oci:$OUT/overlayfs-oci:latest"

buildah "${STORE[@]}" manifest push --all strata/multi:latest "oci:$OUT/multi-oci:latest"

# Two images, two tags, one legacy archive (shared base layer stored once).
# Tagged docker.io/... first so RepoTags read strata/base:1, not localhost/...
buildah "${STORE[@]}" tag localhost/strata/base:1 docker.io/strata/base:1
buildah "${STORE[@]}" tag localhost/strata/overlay:latest docker.io/strata/overlay:latest
podman "${STORE[@]}" save --format docker-archive --multi-image-archive \
  -o "$OUT/two-images-docker.tar" docker.io/strata/base:1 docker.io/strata/overlay:latest

build_compare
build_findings
build_staged
build_packages
build_rpm
build_secrets

# Docker 25+ `docker save` layouts, repacked from the real blobs of overlay-oci.
python3 "$HERE/make-docker25.py" "$OUT/overlay-oci" "$OUT"

rm -f "$HERE/base/rootfs.tar"
python3 "$HERE/expected.py" --check
python3 "$HERE/expected.py" --write   # expected.json follows the new digests
# Unmount what the overlay driver left mounted in the temp storage.
buildah "${STORE2[@]}" rm --all >/dev/null 2>&1 || true
umount -R "$ROOT2/overlay" 2>/dev/null || true
echo "built into $OUT"
