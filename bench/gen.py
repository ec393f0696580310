#!/usr/bin/env python3
"""Deterministic generator of large synthetic images for strata's benchmarks.

    gen.py OUT_DIR [--profile small|debian|bigfile] [--files N] [--layers L] [--deletions D]
                   [--file-size B] [--big-file BYTES] [--zstd] [--seed S] [--upper-seed S]
                   [--no-docker]

writes OUT_DIR/oci (an OCI image layout, gzip or zstd layers) and OUT_DIR/docker.tar (a legacy
`docker save` archive with uncompressed layers) of one image. Profiles:
- small (default): layer 0 holds N small files spread over directories of 100 files each;
  layers 1..L-1 each rewrite 1% of the files, chmod another 1%, add new files, and delete
  directories (D directory deletions spread over the layers): whiteouts and copy-ups.
- debian: a Debian-like image: a merged-/usr base (symlinks lib -> usr/lib ...), files of
  log-normal sizes (text and binary-like content), an apt install layer, `rm -rf` of the apt
  lists, an application copy, a chmod -R, directory deletions and rewrites of config files.
- bigfile: a tiny base layer and one layer holding a single file of BYTES zeros (streamed, never
  held in memory).
- dominant, python, node: images shaped as people build them, where one layer (the package
  install) holds most of the bytes: a Debian-like base of N/4 files, then one layer of N files
  (dominant: Debian packages, binaries and shared libraries of log-normal sizes, ~16 KB mean;
  python: site-packages, many .py and .pyc files with some large .so; node: node_modules, many
  small .js files), then the application's few files. --files sets N.
- gib: one layer of --big-file BYTES in files of about 256 KiB (text and binary-like), over a
  tiny base: one large layer of many mid-size files.
--upper-seed reseeds the generator after layer 0, so two images share a byte-identical base
layer (same diff_id) and differ above it (the layer cache benchmark).
Content comes from a seeded PRNG, so the same arguments give byte-identical layers.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import tarfile
import zlib

MTIME = 1700000000


class Pool:
    """Content: slices of two fixed buffers at random offsets (fast, deterministic, and about
    as compressible as real text and binaries)."""

    def __init__(self, rng):
        words = [b"alpha", b"beta", b"gamma", b"delta", b"lib", b"usr", b"share", b"0123456789",
                 b"static", b"const", b"return", b"include", b"struct", b"error", b"value"]
        text = bytearray()
        while len(text) < 1 << 22:
            text += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
        self.text = bytes(text) * 2
        binary = bytearray()
        while len(binary) < 1 << 22:
            if rng.random() < 0.5:
                binary += rng.randbytes(rng.randint(8, 64))
            else:
                binary += bytes([rng.randrange(256)]) * rng.randint(4, 64)
        self.binary = bytes(binary[: 1 << 22]) * 2

    def get(self, rng, size, binary=False):
        buf = self.binary if binary else self.text
        out = bytearray()
        while len(out) < size:
            take = min(size - len(out), 1 << 22)
            off = rng.randrange(1 << 22)
            out += buf[off:off + take]
        return bytes(out)


class Layer:
    """A layer tar written straight to a file."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "wb")
        self.tf = tarfile.open(fileobj=self.f, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, mode):
        ti = tarfile.TarInfo(name)
        ti.mtime = MTIME
        ti.mode = mode
        return ti

    def dir(self, name, mode=0o755):
        ti = self._info(name, mode)
        ti.type = tarfile.DIRTYPE
        self.tf.addfile(ti)

    def file(self, name, data, mode=0o644):
        ti = self._info(name, mode)
        ti.size = len(data)
        self.tf.addfile(ti, _Reader(data))

    def symlink(self, name, target):
        ti = self._info(name, 0o777)
        ti.type = tarfile.SYMTYPE
        ti.linkname = target
        self.tf.addfile(ti)

    def zeros(self, name, size):
        ti = self._info(name, 0o644)
        ti.size = size
        self.tf.addfile(ti, _Zeros(size))

    def close(self):
        self.tf.close()
        self.f.close()


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, n=-1):
        n = len(self.data) - self.pos if n < 0 else n
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


class _Zeros:
    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left, 1 << 24)
        self.left -= n
        return bytes(n)


def chunks(path):
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                return
            yield b


def compress(raw_path, blob_path, zstd):
    """Compresses a layer tar; returns (sha256 of the tar, sha256 of the blob, blob size)."""
    if zstd:
        subprocess.run(["zstd", "-q", "-3", "-f", "-T1", raw_path, "-o", blob_path], check=True)
        diff = hashlib.sha256()
        for b in chunks(raw_path):
            diff.update(b)
    else:
        diff = hashlib.sha256()
        z = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip wrapper, mtime 0
        with open(blob_path, "wb") as out:
            for b in chunks(raw_path):
                diff.update(b)
                out.write(z.compress(b))
            out.write(z.flush())
    blob = hashlib.sha256()
    for b in chunks(blob_path):
        blob.update(b)
    return diff.hexdigest(), blob.hexdigest(), os.path.getsize(blob_path)


def ensure_dirs(layer, seen, path):
    parts = path.split("/")[:-1]
    for k in range(1, len(parts) + 1):
        p = "/".join(parts[:k])
        if p not in seen:
            seen.add(p)
            layer.dir(p)


def profile_small(a, rng, new_layer, reseed):
    pool = Pool(rng)
    per_dir = 100
    dirs = [f"usr/share/pkg{d // 50:04d}/d{d:05d}" for d in range((a.files + per_dir - 1) // per_dir)]
    files = {}
    by_dir = {}
    layer = new_layer()
    seen = set()
    for i in range(a.files):
        d = dirs[i // per_dir]
        name = f"{d}/f{i:07d}.txt"
        ensure_dirs(layer, seen, name)
        data = pool.get(rng, rng.randint(a.file_size // 2, a.file_size * 3 // 2))
        files[name] = data
        by_dir.setdefault(d, []).append(name)
        layer.file(name, data)
    layer.close()
    reseed(rng)
    alive_dirs = list(dirs)
    per_layer_del = a.deletions // max(1, a.layers - 1)
    for n in range(1, a.layers):
        layer = new_layer()
        names = sorted(files)
        for name in rng.sample(names, max(1, len(names) // 100)):
            data = pool.get(rng, len(files[name]) + 10)
            files[name] = data
            layer.file(name, data)
        for name in rng.sample(names, max(1, len(names) // 100)):
            layer.file(name, files[name], 0o600)
        for j in range(200):
            name = f"opt/layer{n:03d}/new{j:04d}.bin"
            layer.file(name, pool.get(rng, 4000))
        for _ in range(per_layer_del):
            if not alive_dirs:
                break
            d = alive_dirs.pop(rng.randrange(len(alive_dirs)))
            parent, base = d.rsplit("/", 1)
            layer.file(f"{parent}/.wh.{base}", b"")
            for name in by_dir.pop(d, []):
                del files[name]
        layer.close()


def lognormal_size(rng, median, cap):
    return max(0, min(cap, int(rng.lognormvariate(0, 1.6) * median)))


def profile_debian(a, rng, new_layer, reseed):
    pool = Pool(rng)
    pkgs = [f"lib{w}{i}" for i, w in enumerate(["ssl", "c", "z", "x11", "gtk", "py", "perl", "icu"] * 40)]
    # Layer 0: a merged-/usr Debian base.
    layer = new_layer()
    seen = set()
    for top in ["bin", "sbin", "lib", "lib64"]:
        layer.symlink(top, f"usr/{top}")
    conf = []
    for i in range(a.files):
        pkg = pkgs[i % 120]
        r = rng.random()
        if r < 0.15:
            name, binary = f"usr/bin/{pkg}-tool{i}", True
        elif r < 0.40:
            name, binary = f"usr/lib/x86_64-linux-gnu/{pkg}/{pkg}.so.{i}", True
        elif r < 0.70:
            name, binary = f"usr/share/doc/{pkg}/file{i}.txt", False
        elif r < 0.85:
            name, binary = f"usr/share/locale/l{i % 60:02d}/LC_MESSAGES/{pkg}{i}.mo", True
        else:
            name, binary = f"etc/{pkg}/conf{i}.conf", False
            conf.append(name)
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, lognormal_size(rng, 3000 if binary else 1500, 8 << 20), binary))
    for pkg in pkgs[:120]:
        name = f"var/lib/dpkg/info/{pkg}.list"
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, 4000))
    layer.file("var/lib/dpkg/status", pool.get(rng, 400_000))
    layer.close()
    reseed(rng)
    # Layer 1: apt-get update && apt-get install (through the lib -> usr/lib symlink too).
    layer = new_layer()
    lists = [f"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_{c}_binary-amd64_Packages"
             for c in ["main", "contrib", "non-free", "updates", "security"]]
    for name in lists:
        layer.file(name, pool.get(rng, 8_000_000))
    installed = []
    for i in range(a.files // 2):
        pkg = pkgs[120 + i % 200]
        if rng.random() < 0.5:
            name = f"lib/x86_64-linux-gnu/{pkg}/{pkg}-{i}.so"
        else:
            name = f"usr/share/{pkg}/data{i}.dat"
        installed.append(name)
        layer.file(name, pool.get(rng, lognormal_size(rng, 4000, 16 << 20), rng.random() < 0.6))
    layer.file("var/lib/dpkg/status", pool.get(rng, 600_000))
    for name in rng.sample(conf, len(conf) // 4):
        layer.file(name, pool.get(rng, 2000))
    layer.close()
    # Layer 2: rm -rf /var/lib/apt/lists/*
    layer = new_layer()
    for name in lists:
        d, base = name.rsplit("/", 1)
        layer.file(f"{d}/.wh.{base}", b"")
    layer.close()
    # Layer 3: COPY . /app (a node_modules-like tree).
    layer = new_layer()
    app = []
    for i in range(a.files // 3):
        name = f"app/node_modules/m{i // 40:04d}/lib/s{i % 40:02d}/index{i}.js"
        data = pool.get(rng, lognormal_size(rng, 2000, 1 << 20))
        app.append((name, data))
        layer.file(name, data)
    layer.close()
    # Layer 4: chmod -R g+w /app (copy-up of every file's metadata, same bytes).
    layer = new_layer()
    for name, data in app[: len(app) // 2]:
        layer.file(name, data, 0o664)
    layer.close()
    # Layer 5: rm -rf /usr/share/doc/* and some modules; Layer 6: config rewrites.
    layer = new_layer()
    for pkg in pkgs[:120]:
        layer.file(f"usr/share/doc/.wh.{pkg}", b"")
    for m in range(0, len(app) // 40, 3):
        layer.file(f"app/node_modules/.wh.m{m:04d}", b"")
    layer.close()
    layer = new_layer()
    for name in rng.sample(conf, len(conf) // 3):
        layer.file(name, pool.get(rng, 2500), 0o600)
    layer.file("var/lib/dpkg/status", pool.get(rng, 600_000))
    layer.close()


def tiny_base(rng, pool, new_layer):
    """A base layer of 100 small files under etc/, below a large upper layer."""
    layer = new_layer()
    for i in range(100):
        layer.file(f"etc/f{i}", pool.get(rng, 1000))
    layer.close()


def profile_bigfile(a, rng, new_layer, reseed):
    pool = Pool(rng)
    tiny_base(rng, pool, new_layer)
    layer = new_layer()
    layer.zeros("data/big.img", a.big_file)
    layer.close()


def base_layer(layer, rng, pool, files, seen):
    """A small Debian-like base: merged /usr, binaries, libraries, docs and the dpkg status."""
    for top in ["bin", "sbin", "lib", "lib64"]:
        layer.symlink(top, f"usr/{top}")
    for i in range(files):
        r = rng.random()
        if r < 0.2:
            name, binary = f"usr/bin/tool{i}", True
        elif r < 0.5:
            name, binary = f"usr/lib/x86_64-linux-gnu/lib{i % 90}/lib{i}.so.1", True
        else:
            name, binary = f"usr/share/doc/pkg{i % 90}/file{i}", False
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, lognormal_size(rng, 4000, 4 << 20), binary))
    ensure_dirs(layer, seen, "var/lib/dpkg/status")
    layer.file("var/lib/dpkg/status", pool.get(rng, 300_000))


def dominant_layer(a, rng, pool, layer, seen):
    """The shape of each service's one large layer, --files files, and the records its package
    manager writes (dpkg's status and lists, Python's RECORDs, npm's package.json files)."""
    owned = {}
    for i in range(a.files):
        r = rng.random()
        if a.profile == "python":
            pkg = f"usr/lib/python3/dist-packages/pkg{i % 400:03d}"
            if r < 0.55:
                name, size, binary = f"{pkg}/mod{i}.py", lognormal_size(rng, 2500, 1 << 20), False
            elif r < 0.9:
                name, size, binary = f"{pkg}/__pycache__/mod{i}.cpython-311.pyc", lognormal_size(rng, 2500, 1 << 20), True
            else:
                name, size, binary = f"{pkg}/_ext{i}.cpython-311-x86_64-linux-gnu.so", lognormal_size(rng, 30000, 64 << 20), True
        elif a.profile == "node":
            mod = f"app/node_modules/m{i // 25:05d}"
            if r < 0.85:
                name, size, binary = f"{mod}/lib/f{i}.js", lognormal_size(rng, 1500, 2 << 20), False
            elif r < 0.95:
                name, size, binary = f"{mod}/doc/README{i}.md", lognormal_size(rng, 2000, 1 << 20), False
            else:
                name, size, binary = f"{mod}/build/Release/n{i}.node", lognormal_size(rng, 40000, 32 << 20), True
        else:  # dominant: Debian packages
            pkg = f"p{i % 700:03d}"
            if r < 0.3:
                name, size, binary = f"usr/lib/x86_64-linux-gnu/{pkg}/lib{i}.so", lognormal_size(rng, 8000, 64 << 20), True
            elif r < 0.45:
                name, size, binary = f"usr/bin/{pkg}-{i}", lognormal_size(rng, 6000, 32 << 20), True
            elif r < 0.8:
                name, size, binary = f"usr/share/{pkg}/data{i}", lognormal_size(rng, 2500, 8 << 20), False
            else:
                name, size, binary = f"usr/include/{pkg}/h{i}.h", lognormal_size(rng, 2000, 1 << 20), False
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, size, binary))
        owned.setdefault(owner_of(a.profile, name), []).append(name)
    package_records(a.profile, layer, seen, owned)


def owner_of(profile, name):
    """The package a dominant-layer file belongs to: its directory under site-packages or
    node_modules, its pNNN for Debian."""
    parts = name.split("/")
    if profile == "python":
        return parts[4]
    if profile == "node":
        return parts[2]
    return next(p.split("-")[0] for p in parts if p.startswith("p") and p[1:4].isdigit())


def dpkg_records(layer, seen, owned, status_extra=b""):
    """Real dpkg records for `owned` (package -> files): a status stanza and an info/NAME.list
    each, as dpkg writes them, so that attribution has work to do in the benchmark."""
    stanzas = []
    for pkg in sorted(owned):
        stanzas.append(f"Package: {pkg}\nStatus: install ok installed\nPriority: optional\n"
                       f"Architecture: amd64\nVersion: 1.{len(owned[pkg])}-1\n"
                       f"Description: generated package {pkg}\n".encode())
        dirs = sorted({"/" + "/".join(f.split("/")[:k]) for f in owned[pkg] for k in range(1, f.count("/") + 1)})
        body = "/.\n" + "".join(d + "\n" for d in dirs) + "".join("/" + f + "\n" for f in owned[pkg])
        name = f"var/lib/dpkg/info/{pkg}.list"
        ensure_dirs(layer, seen, name)
        layer.file(name, body.encode())
    ensure_dirs(layer, seen, "var/lib/dpkg/status")
    layer.file("var/lib/dpkg/status", status_extra + b"\n".join(stanzas))


def package_records(profile, layer, seen, owned):
    """The records a package manager leaves beside the files of the dominant layer."""
    if profile == "python":
        for pkg, files in sorted(owned.items()):
            site = "usr/lib/python3/dist-packages"
            info = f"{site}/{pkg}-1.0.dist-info"
            rows = "".join(f"{f[len(site) + 1:]},sha256=-,0\n" for f in files)
            rows += f"{pkg}-1.0.dist-info/RECORD,,\n"
            ensure_dirs(layer, seen, f"{info}/RECORD")
            layer.file(f"{info}/RECORD", rows.encode())
    elif profile == "node":
        lock = {"name": "app", "lockfileVersion": 3, "packages": {}}
        for i, pkg in enumerate(sorted(owned)):
            manifest = {"name": pkg, "version": f"1.0.{i}", "main": "lib/index.js"}
            layer.file(f"app/node_modules/{pkg}/package.json", json.dumps(manifest).encode())
            lock["packages"][f"node_modules/{pkg}"] = {"version": f"1.0.{i}", "dev": i % 10 == 0}
        layer.file("app/node_modules/.package-lock.json", json.dumps(lock).encode())
    else:
        dpkg_records(layer, seen, owned)


def profile_service(a, rng, new_layer, reseed):
    pool = Pool(rng)
    seen = set()
    layer = new_layer()
    base_layer(layer, rng, pool, a.files // 4, seen)
    layer.close()
    reseed(rng)
    layer = new_layer()  # apt-get install / pip install / npm ci
    dominant_layer(a, rng, pool, layer, seen)
    layer.close()
    layer = new_layer()  # COPY . /app
    for i in range(200):
        name = f"app/src/s{i % 10}/file{i}.txt"
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, lognormal_size(rng, 3000, 1 << 20)))
    layer.close()


def profile_gib(a, rng, new_layer, reseed):
    pool = Pool(rng)
    tiny_base(rng, pool, new_layer)
    layer = new_layer()
    seen, left, i = set(), a.big_file, 0
    while left > 0:
        size = min(left, max(1, int(rng.uniform(0.5, 1.5) * (256 << 10))))
        name = f"data/d{i // 100:03d}/blob{i}.bin"
        ensure_dirs(layer, seen, name)
        layer.file(name, pool.get(rng, size, i % 2 == 0))
        left -= size
        i += 1
    layer.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--profile", choices=["small", "debian", "bigfile", "dominant", "python", "node", "gib"],
                    default="small")
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--deletions", type=int, default=250)
    ap.add_argument("--file-size", type=int, default=600)
    ap.add_argument("--big-file", type=int, default=2 << 30)
    ap.add_argument("--zstd", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--upper-seed", type=int, default=None)
    ap.add_argument("--no-docker", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    out = a.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(f"{out}/oci/blobs/sha256")
    os.makedirs(f"{out}/raw")
    raws = []

    def new_layer():
        layer = Layer(f"{out}/raw/{len(raws):03d}.tar")
        raws.append(layer.path)
        return layer

    def reseed(r):
        if a.upper_seed is not None:
            r.seed(a.upper_seed)

    profiles = {"small": profile_small, "debian": profile_debian, "bigfile": profile_bigfile,
                "dominant": profile_service, "python": profile_service, "node": profile_service,
                "gib": profile_gib}
    profiles[a.profile](a, rng, new_layer, reseed)

    diff_ids, descs, v1 = [], [], []
    for raw in raws:
        tmp = f"{out}/oci/blobs/sha256/tmp"
        diff, dg, size = compress(raw, tmp, a.zstd)
        os.replace(tmp, f"{out}/oci/blobs/sha256/{dg}")
        diff_ids.append("sha256:" + diff)
        mt = "application/vnd.oci.image.layer.v1.tar+" + ("zstd" if a.zstd else "gzip")
        descs.append({"mediaType": mt, "digest": "sha256:" + dg, "size": size})
        v1.append((diff, raw))
    config = {
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"synthetic {a.profile} layer {i}"}
                    for i in range(len(raws))],
    }
    cfg = json.dumps(config).encode()
    cdg = hashlib.sha256(cfg).hexdigest()
    with open(f"{out}/oci/blobs/sha256/{cdg}", "wb") as f:
        f.write(cfg)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cdg, "size": len(cfg)},
        "layers": descs,
    }).encode()
    mdg = hashlib.sha256(manifest).hexdigest()
    with open(f"{out}/oci/blobs/sha256/{mdg}", "wb") as f:
        f.write(manifest)
    with open(f"{out}/oci/index.json", "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mdg,
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
    with open(f"{out}/oci/oci-layout", "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    if not a.no_docker:
        # docker save (legacy): uncompressed layers.
        with tarfile.open(f"{out}/docker.tar", "w") as tf:
            def add(name, data=None, path=None):
                ti = tarfile.TarInfo(name)
                ti.size = len(data) if path is None else os.path.getsize(path)
                ti.mtime = MTIME
                if path is None:
                    tf.addfile(ti, _Reader(data))
                else:
                    with open(path, "rb") as f:
                        tf.addfile(ti, f)
            paths = []
            for diff, raw in v1:
                add(f"{diff}/layer.tar", path=raw)
                paths.append(f"{diff}/layer.tar")
            add(f"{cdg}.json", cfg)
            add("manifest.json", json.dumps([{"Config": f"{cdg}.json", "RepoTags": ["synthetic:latest"], "Layers": paths}]).encode())
    total = sum(os.path.getsize(r) for r in raws)
    shutil.rmtree(f"{out}/raw")
    print(f"{out}: {len(raws)} layers, {a.profile}, {total / 1e6:.1f} MB of tar")


if __name__ == "__main__":
    main()
