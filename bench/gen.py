#!/usr/bin/env python3
"""Deterministic generator of large synthetic images for strata's benchmarks.

    gen.py OUT_DIR --files N --layers L --deletions D [--file-size B] [--zstd]

writes OUT_DIR/oci (an OCI image layout, gzip or zstd layers) and OUT_DIR/docker.tar (a legacy
`docker save` archive with uncompressed layers) of one image:
- layer 0 holds N small files spread over directories of 100 files each;
- layers 1..L-1 each rewrite 1% of the files, chmod another 1%, add new files, and delete
  directories (D directory deletions spread over the layers), so whiteouts, opaque-free
  directory removals and copy-ups all appear.
Content is derived from a seeded PRNG, so the same arguments give byte-identical layers.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.mode = mode
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def content(rng, size):
    # Compressible like real files: words from a small vocabulary.
    words = [b"alpha", b"beta", b"gamma", b"delta", b"lib", b"usr", b"share", b"0123456789"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def compress(raw, zstd):
    if zstd:
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=raw, capture_output=True, check=True).stdout
    return gzip.compress(raw, compresslevel=6, mtime=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--deletions", type=int, default=250)
    ap.add_argument("--file-size", type=int, default=600)
    ap.add_argument("--zstd", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    per_dir = 100
    dirs = [f"usr/share/pkg{d // 50:04d}/d{d:05d}" for d in range((a.files + per_dir - 1) // per_dir)]
    files = {}
    layers = []
    entries = []
    seen_dirs = set()
    for i in range(a.files):
        d = dirs[i // per_dir]
        parts = d.split("/")
        for k in range(1, len(parts) + 1):
            p = "/".join(parts[:k])
            if p not in seen_dirs:
                seen_dirs.add(p)
                entries.append((p, "dir", b"", 0o755))
        name = f"{d}/f{i:07d}.txt"
        data = content(rng, rng.randint(a.file_size // 2, a.file_size * 3 // 2))
        files[name] = data
        entries.append((name, "file", data, 0o644))
    layers.append(tar_bytes(entries))
    alive_dirs = list(dirs)
    per_layer_del = a.deletions // max(1, a.layers - 1)
    for layer in range(1, a.layers):
        entries = []
        names = sorted(files)
        for name in rng.sample(names, max(1, len(names) // 100)):
            data = content(rng, len(files[name]) + 10)
            files[name] = data
            entries.append((name, "file", data, 0o644))
        for name in rng.sample(names, max(1, len(names) // 100)):
            entries.append((name, "file", files[name], 0o600))
        for j in range(200):
            name = f"opt/layer{layer:03d}/new{j:04d}.bin"
            data = content(rng, 4000)
            files[name] = data
            entries.append((name, "file", data, 0o644))
        for _ in range(per_layer_del):
            if not alive_dirs:
                break
            d = alive_dirs.pop(rng.randrange(len(alive_dirs)))
            parent, base = d.rsplit("/", 1)
            entries.append((f"{parent}/.wh.{base}", "file", b"", 0o644))
            for name in [n for n in files if n.startswith(d + "/")]:
                del files[name]
        layers.append(tar_bytes(entries))

    out = a.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(f"{out}/oci/blobs/sha256")
    diff_ids, descs, v1 = [], [], []
    for raw in layers:
        diff = hashlib.sha256(raw).hexdigest()
        diff_ids.append("sha256:" + diff)
        blob = compress(raw, a.zstd)
        dg = hashlib.sha256(blob).hexdigest()
        with open(f"{out}/oci/blobs/sha256/{dg}", "wb") as f:
            f.write(blob)
        mt = "application/vnd.oci.image.layer.v1.tar+" + ("zstd" if a.zstd else "gzip")
        descs.append({"mediaType": mt, "digest": "sha256:" + dg, "size": len(blob)})
        v1.append((diff, raw))
    config = {
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"synthetic layer {i}"} for i in range(len(layers))],
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
    # docker save (legacy): uncompressed layers.
    with tarfile.open(f"{out}/docker.tar", "w") as tf:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
        paths = []
        for diff, raw in v1:
            add(f"{diff}/layer.tar", raw)
            paths.append(f"{diff}/layer.tar")
        add(f"{cdg}.json", cfg)
        add("manifest.json", json.dumps([{"Config": f"{cdg}.json", "RepoTags": ["synthetic:latest"], "Layers": paths}]).encode())
    total = sum(len(r) for r in layers)
    print(f"{out}: {len(layers)} layers, {a.files} base files, {total / 1e6:.1f} MB of tar")


if __name__ == "__main__":
    main()
