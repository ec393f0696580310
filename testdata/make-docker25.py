#!/usr/bin/env python3
"""Repack the real blobs of an OCI layout into the two archives `docker save`
writes since Docker 25, for tests that have no Docker daemon to ask.

    make-docker25.py images/overlay-oci images/
      -> images/docker25-graphdriver.tar   (classic graphdriver image store)
      -> images/docker25-containerd.tar    (containerd image store)

What is real: every layer's bytes and the image config are the blobs of the
buildah-built OCI layout (for the graphdriver variant the layers are the same
tars, decompressed, as the graphdriver store keeps them; their names are the
config's diff_ids). What is synthesised (no Docker here) is the packaging,
written the way these sources write it:

graphdriver  moby image/tarexport/save.go (v25.0.2+, after moby#47065/#47068
  fixed 25.0.0's OCI manifest that had no layers) then pkg/archive.Tar of the
  temp dir: entries in filepath.Walk order (blobs/, blobs/sha256/, blobs in
  hex order, index.json, manifest.json, oci-layout, repositories), no "./"
  entry, directory names ending in "/", modes WITH the file-type bits
  (040755 / 0100644, as pkg/archive writes them), uid/gid 0 root/root.
  - blobs/sha256/<diff_id hex>: layer, uncompressed;
  - blobs/sha256/<config hex>: the image config, unchanged;
  - blobs/sha256/<manifest hex>: OCI manifest, layers typed
    application/vnd.oci.image.layer.v1.tar with digest = diff_id, the config
    descriptor carrying a platform;
  - blobs/sha256/<v1 id json>: one legacy "V1Image" JSON per layer that
    Docker 25 still writes and nothing references. Their exact bytes come from
    v1.CreateID over Docker's in-memory image; ours are a plausible
    approximation (same keys, different digests) - they only exist so that
    readers learn to ignore unreferenced blobs;
  - index.json (mediaType set, descriptor with io.containerd.image.name,
    org.opencontainers.image.ref.name and platform), manifest.json
    (Config/RepoTags/Layers/LayerSources, json.Encoder so "\n"-terminated),
    oci-layout ({"imageLayoutVersion": "1.0.0"}, moby's const with a space),
    repositories ({"strata/overlay":{"latest":<top diff_id hex>}}).

containerd   moby daemon/containerd/image_exporter.go calls containerd
  images/archive/exporter.go Export with WithPlatform(all, preferring the
  host) and WithSkipMissing: records sorted by name, "blobs/" and
  "blobs/sha256/" directory records (mode 0755), blobs mode 0444, index.json
  and manifest.json 0644, oci-layout 0444, mtime 0, no uname/gname, modes
  WITHOUT file-type bits. containerd writes no `repositories` file.
  - blobs are the compressed (gzip) registry blobs of the OCI layout;
  - index.json -> one descriptor of a nested OCI image index (annotated with
    the image name and ref name "latest"), which lists
      linux/amd64   the real manifest (blobs present),
      linux/arm64   a synthesised manifest whose blobs are ABSENT (Docker only
                    pulled amd64; the index still names it),
      unknown/unknown  an attestation manifest (vnd.docker.reference.type:
                    attestation-manifest, vnd.docker.reference.digest: the
                    amd64 manifest) with its config and one in-toto
                    provenance layer, all PRESENT (as after a local buildx
                    build with provenance);
  - manifest.json names only the host platform's (amd64) image, compressed
    layer blob paths, RepoTags ["strata/overlay:latest"] (no LayerSources).
The gzip bytes are copied, never recompressed, so digests stay valid.
"""
import gzip
import hashlib
import io
import json
import os
import sys

REPO, TAG = "strata/overlay", "latest"
FULL_NAME = "docker.io/" + REPO + ":" + TAG


def sha(b):
    return hashlib.sha256(b).hexdigest()


def jdump(obj):
    """Go's json.Marshal: compact, keys in struct (insertion) order."""
    return json.dumps(obj, separators=(",", ":")).encode()


def octal(value, width):
    """Go archive/tar formatOctal: zero-padded octal, NUL-terminated."""
    s = format(value, "o")
    return (s.rjust(width - 1, "0") + "\0").encode()


def tar_header(name, size, mode, mtime, typeflag, uname="", gname=""):
    """One ustar header block as Go's archive/tar writes it (mode written
    verbatim, so file-type bits survive - python's tarfile would mask them)."""
    h = bytearray(512)
    def put(off, data):
        h[off:off + len(data)] = data
    put(0, name.encode())
    put(100, octal(mode, 8))
    put(108, octal(0, 8))
    put(116, octal(0, 8))
    put(124, octal(size, 12))
    put(136, octal(mtime, 12))
    put(156, typeflag)
    put(257, b"ustar\x0000")
    put(265, uname.encode())
    put(297, gname.encode())
    put(329, octal(0, 8))
    put(337, octal(0, 8))
    put(148, b" " * 8)
    put(148, octal(sum(h), 7) + b" ")
    return bytes(h)


def write_tar(path, entries):
    """entries: (name, data or None for a directory, mode, mtime, uname)."""
    with open(path, "wb") as out:
        for name, data, mode, mtime, uname in entries:
            if data is None:
                out.write(tar_header(name, 0, mode, mtime, b"5", uname, uname))
            else:
                out.write(tar_header(name, len(data), mode, mtime, b"0", uname, uname))
                out.write(data)
                out.write(b"\0" * (-len(data) % 512))
        out.write(b"\0" * 1024)  # end of archive (Go writes two zero blocks)


def load_layout(layout):
    def blob(digest):
        with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
            return f.read()
    index = json.load(open(os.path.join(layout, "index.json")))
    mdesc = index["manifests"][0]
    manifest_raw = blob(mdesc["digest"])
    manifest = json.loads(manifest_raw)
    config_raw = blob(manifest["config"]["digest"])
    layers = [(d, blob(d["digest"])) for d in manifest["layers"]]
    return mdesc, manifest_raw, manifest, config_raw, layers


def epoch(rfc3339):
    import datetime
    s = rfc3339.rstrip("Z")
    if "." in s:
        s = s[:s.index(".")]
    return int(datetime.datetime.fromisoformat(s).replace(tzinfo=datetime.timezone.utc).timestamp())


def graphdriver(layout, out_path):
    mdesc, _, manifest, config_raw, layers = load_layout(layout)
    config = json.loads(config_raw)
    created = epoch(config["created"])
    save_time = created  # stand-in for "now" at save time, kept deterministic
    platform = {"architecture": config["architecture"], "os": config["os"]}
    blobs = {}  # hex -> (data, mtime)

    diff_ids = config["rootfs"]["diff_ids"]
    layer_descs, layer_paths, sources = [], [], {}
    parent = ""
    for i, ((desc, data), diff_id) in enumerate(zip(layers, diff_ids)):
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        assert "sha256:" + sha(raw) == diff_id, "diff_id mismatch"
        blobs[diff_id[7:]] = (raw, created)
        d = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": diff_id, "size": len(raw)}
        layer_descs.append(d)
        layer_paths.append("blobs/sha256/" + diff_id[7:])
        sources[diff_id] = {"mediaType": d["mediaType"], "size": len(raw), "digest": diff_id}
        # Legacy V1Image JSON (approximation, see module docstring).
        v1id = sha(("v1:" + parent + ":" + diff_id).encode())
        v1 = {"id": v1id}
        if parent:
            v1["parent"] = parent
        v1["created"] = "1970-01-01T00:00:00Z" if i < len(layers) - 1 else config["created"]
        v1["container_config"] = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
                                  "AttachStdout": False, "AttachStderr": False, "Tty": False,
                                  "OpenStdin": False, "StdinOnce": False, "Env": None, "Cmd": None,
                                  "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
                                  "OnBuild": None, "Labels": None}
        v1["os"] = "linux"
        v1raw = jdump(v1)
        blobs[sha(v1raw)] = (v1raw, created)
        parent = v1id

    config_hex = sha(config_raw)
    blobs[config_hex] = (config_raw, created)
    oci_manifest = jdump({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + config_hex, "size": len(config_raw), "platform": platform},
        "layers": layer_descs,
    })
    blobs[sha(oci_manifest)] = (oci_manifest, 0)
    index = jdump({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + sha(oci_manifest), "size": len(oci_manifest),
                       "annotations": {"io.containerd.image.name": FULL_NAME,
                                       "org.opencontainers.image.ref.name": TAG},
                       "platform": platform}],
    })
    manifest_json = jdump([{"Config": "blobs/sha256/" + config_hex, "RepoTags": [REPO + ":" + TAG],
                            "Layers": layer_paths, "LayerSources": sources}]) + b"\n"
    repositories = jdump({REPO: {TAG: diff_ids[-1][7:]}}) + b"\n"

    entries = [("blobs/", None, 0o40755, created, "root"),
               ("blobs/sha256/", None, 0o40755, save_time, "root")]
    for hexd in sorted(blobs):
        data, mtime = blobs[hexd]
        entries.append(("blobs/sha256/" + hexd, data, 0o100644, mtime, "root"))
    entries += [("index.json", index, 0o100644, save_time, "root"),
                ("manifest.json", manifest_json, 0o100644, 0, "root"),
                ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}', 0o100644, 0, "root"),
                ("repositories", repositories, 0o100644, 0, "root")]
    write_tar(out_path, entries)


def containerd(layout, out_path):
    mdesc, manifest_raw, manifest, config_raw, layers = load_layout(layout)
    config = json.loads(config_raw)
    present = {}  # hex -> data
    present[sha(manifest_raw)] = manifest_raw
    present[sha(config_raw)] = config_raw
    for desc, data in layers:
        present[desc["digest"][7:]] = data
    amd64_digest = "sha256:" + sha(manifest_raw)

    # arm64: a manifest the registry index names but Docker never pulled.
    # Only its descriptor is written; the manifest and its blobs are absent.
    arm_config = dict(config, architecture="arm64", variant="v8")
    arm_config_raw = jdump(arm_config)
    arm_manifest = jdump({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha(arm_config_raw), "size": len(arm_config_raw)},
        "layers": manifest["layers"]})

    # Attestation (BuildKit style): config + one in-toto provenance layer, all present.
    statement = jdump({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": "pkg:docker/" + REPO + "@" + TAG + "?platform=linux%2Famd64",
                     "digest": {"sha256": amd64_digest[7:]}}],
        "predicate": {"builder": {"id": ""}, "buildType": "https://mobyproject.org/buildkit@v1",
                      "metadata": {"buildInvocationID": "strata-testdata"}}})
    att_config = jdump({"architecture": "unknown", "os": "unknown", "config": {},
                        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(statement)]}})
    att_manifest = jdump({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha(att_config), "size": len(att_config)},
        "layers": [{"mediaType": "application/vnd.in-toto+json",
                    "digest": "sha256:" + sha(statement), "size": len(statement),
                    "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}]})
    for b in (statement, att_config, att_manifest):
        present[sha(b)] = b

    nested = jdump({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64_digest,
             "size": len(manifest_raw), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:" + sha(arm_manifest), "size": len(arm_manifest),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:" + sha(att_manifest), "size": len(att_manifest),
             "annotations": {"vnd.docker.reference.digest": amd64_digest,
                             "vnd.docker.reference.type": "attestation-manifest"},
             "platform": {"architecture": "unknown", "os": "unknown"}},
        ]})
    present[sha(nested)] = nested
    index = jdump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": "sha256:" + sha(nested), "size": len(nested),
        "annotations": {"io.containerd.image.name": FULL_NAME,
                        "org.opencontainers.image.ref.name": TAG}}]})
    manifest_json = jdump([{"Config": "blobs/sha256/" + sha(config_raw),
                            "RepoTags": [REPO + ":" + TAG],
                            "Layers": ["blobs/sha256/" + d["digest"][7:] for d in manifest["layers"]]}])

    records = [("blobs/", None, 0o755), ("blobs/sha256/", None, 0o755)]
    records += [("blobs/sha256/" + h, present[h], 0o444) for h in present]
    records += [("index.json", index, 0o644), ("manifest.json", manifest_json, 0o644),
                ("oci-layout", jdump({"imageLayoutVersion": "1.0.0"}), 0o444)]
    records.sort(key=lambda r: r[0].encode())
    write_tar(out_path, [(n, d, m, 0, "") for n, d, m in records])


def main():
    layout, out_dir = sys.argv[1], sys.argv[2]
    graphdriver(layout, os.path.join(out_dir, "docker25-graphdriver.tar"))
    containerd(layout, os.path.join(out_dir, "docker25-containerd.tar"))


if __name__ == "__main__":
    main()
