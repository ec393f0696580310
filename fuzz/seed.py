#!/usr/bin/env python3
"""Seeds the fuzz corpora (fuzz/corpus/TARGET) from the committed test images and files.

Deterministic: the same testdata gives the same seeds. Large base layers are left out (fuzzing
wants small inputs); every other layer blob, manifest, config and index of
testdata/images/*-oci is used, and small docker-save archives and in-memory layouts
(documents separated by "\\n--\\n", as strata::fuzzing reads them) are built from them.
"""
import hashlib, io, json, os, sys, tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
SMALL = 64 << 10
SEP = b"\n--\n"


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def blob(layout, digest):
    alg, hexd = digest.split(":", 1)
    with open(os.path.join(layout, "blobs", alg, hexd), "rb") as f:
        return f.read()


def layouts():
    images = os.path.join(ROOT, "testdata", "images")
    for name in sorted(os.listdir(images)):
        path = os.path.join(images, name)
        if os.path.isfile(os.path.join(path, "index.json")):
            yield path


def docker_save(config, layers):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        names = []
        for i, layer in enumerate(layers):
            names.append("l%d/layer.tar" % i)
            add(names[-1], layer)
        add("config.json", config)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["fuzz:latest"], "Layers": names}]).encode())
    return out.getvalue()


def main():
    for layout in layouts():
        index = open(os.path.join(layout, "index.json"), "rb").read()
        for m in json.loads(index)["manifests"]:
            try:
                manifest_bytes = blob(layout, m["digest"])
            except OSError:
                continue
            manifest = json.loads(manifest_bytes)
            if "layers" not in manifest:
                continue
            config_bytes = blob(layout, manifest["config"]["digest"])
            small = []
            for l in manifest["layers"]:
                data = blob(layout, l["digest"])
                if len(data) <= SMALL:
                    small.append(data)
                    put("layers", data)
                    put("decompress", data)
            put("layers", SEP.join(small[:4]))
            # A layout of the small layers only: the config's diff_ids do not all match,
            # which is one more thing the fuzzer starts from.
            put("oci_layout", SEP.join([index, manifest_bytes, config_bytes] + small[:3]))
            plain = [d for d in small if not d[:2] == b"\x1f\x8b" and not d[:4] == b"\x28\xb5\x2f\xfd"]
            put("archive_stream", docker_save(config_bytes, (plain or small)[:3]))
    for name in sorted(os.listdir(os.path.join(ROOT, "testdata", "dive-ci"))):
        path = os.path.join(ROOT, "testdata", "dive-ci", name)
        if os.path.isfile(path):
            put("dive_ci", open(path, "rb").read())
    put("keymap", open(os.path.join(ROOT, "docs", "keys.conf"), "rb").read())
    for text in [
        "alpine", "ghcr.io/o/app:1.0", "localhost:5000/a/b@sha256:" + "0" * 64,
        'Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"',
        'Basic realm="x"',
    ]:
        put("registry_text", text.encode())


if __name__ == "__main__":
    sys.exit(main())
