#!/usr/bin/env python3
"""Independent oracle for the test images: expected final filesystem and waste.

    python3 expected.py            # print expected.json to stdout
    python3 expected.py --write    # write testdata/expected.json
    python3 expected.py --tree overlay-oci   # print the final tree of one layout
    python3 expected.py --check    # all overlay archives carry overlay-oci's diff_ids
    python3 expected.py --packages # print the dpkg attribution of packages-oci

It shares no code with strata. It reads an OCI layout's blobs with python's
tarfile (gzip/zstd/plain picked by magic bytes; zstd via the `zstd` CLI) and
applies the OCI layer rules (image-spec layer.md) in the simplest way:

* layers apply bottom to top; names are normalised (strip "./" and "/");
  file modes are masked to 0o7777 (buildah writes the type bits too);
* parent components resolve through symlinks of the tree built so far; the
  last component does not;
* per layer, first `.wh..wh..opq` (drop every child its directory had before
  this layer), then `.wh.NAME` (drop NAME and its subtree, if present), then
  the other entries in tar order: dir over dir keeps children and takes the
  new metadata, anything else replaces the old node (a whole subtree);
  missing parents are created as 0755 directories;
* every regular-file entry creates one "blob" (layer, path, size, sha256);
  a hard-link entry makes its path share the blob its target holds at that
  moment (the target may sit in a lower layer).

Waste (definitions of shared/FIELD-NOTES.md): shipped = sum of sizes of all
blobs; visible = sum of sizes of blobs some final path still holds (through
hard links too); wasted = shipped - visible. Each unreachable blob gets a
cause, looked up at the path its entry was written to: `deleted` if no regular
file is there at the end (removed, whited out, or replaced by a directory or a
symlink), `metadata_only` if a regular file with the same bytes is there,
`overwritten` if a regular file with other bytes is there.

Packages of rpm (key `rpm`, image rpm-oci, see `rpm_packages()`): the same from
what rpm itself lists for each layer's rpmdb.sqlite (rpm/rpm-qa/, rederived with
rpm where it is installed).

Packages (key `packages`, image packages-oci, see `packages()`): what dpkg's
own records in the image say, read from the layer tars: the installed
packages of the final `var/lib/dpkg/status`, the files of each one's final
`info/NAME.list` (or `NAME:ARCH.list`), their visible and wasted bytes, and
the regular-file bytes no installed package lists.

Findings (keys `findings-bad`, `findings-tidy`, see `findings()`): what
strata's catalogue must report on the two images, each rule computed here from
its definition in the README's table: from the layer tars (the build context
the COPY layer shipped, identical final files, modes, caches, npm's packages),
the config (USER, HEALTHCHECK) and the Dockerfile (cache order: its lines).
"""
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import io

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")


def read_blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":", 1)), "rb") as f:
        return f.read()


def decompress(data):
    if data[:2] == b"\x1f\x8b":
        import gzip
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


def norm(name):
    parts = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


class Tree:
    def __init__(self):
        # path ("" = root) -> node dict: kind (dir/file/symlink/other), mode, uid, gid,
        # blob (file), target (symlink)
        self.nodes = {"": {"kind": "dir", "mode": 0o755, "uid": 0, "gid": 0}}
        self.blobs = []  # dicts: layer, path, size, sha256 (+ data where keep(path))
        self.keep = None  # predicate: keep the bytes of the files it accepts
        self.layer = None  # the layer being applied

    def children(self, path):
        pre = path + "/" if path else ""
        return [p for p in self.nodes if p.startswith(pre) and p != path and p != ""]

    def remove(self, path):
        for p in self.children(path) + [path]:
            self.nodes.pop(p, None)

    def resolve_parent(self, path, depth=0):
        """Resolve every component but the last through symlinks."""
        parts = norm(path).split("/")
        cur = ""
        for comp in parts[:-1]:
            cur = cur + "/" + comp if cur else comp
            node = self.nodes.get(cur)
            hops = 0
            while node is not None and node["kind"] == "symlink":
                hops += 1
                if hops > 40:
                    raise RuntimeError("symlink loop at " + cur)
                t = node["target"]
                base = "" if t.startswith("/") else cur.rsplit("/", 1)[0] if "/" in cur else ""
                cur = norm(base + "/" + t)
                node = self.nodes.get(cur)
        return norm(cur + "/" + parts[-1]) if cur else parts[-1]

    def ensure_parents(self, path):
        parts = path.split("/")
        for i in range(1, len(parts)):
            p = "/".join(parts[:i])
            if p not in self.nodes or self.nodes[p]["kind"] != "dir":
                self.remove(p)
                self.nodes[p] = {"kind": "dir", "mode": 0o755, "uid": 0, "gid": 0,
                                 "since": self.layer}

    def apply(self, layer_index, tar_bytes):
        self.layer = layer_index
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
            members = [(m, t.extractfile(m).read() if m.isreg() else None) for m in t]
        opaque, whiteouts, rest = [], [], []
        for m, data in members:
            name = norm(m.name)
            base = name.rsplit("/", 1)[-1]
            parent = name.rsplit("/", 1)[0] if "/" in name else ""
            if base == ".wh..wh..opq":
                opaque.append(parent)
            elif base.startswith(".wh."):
                whiteouts.append((parent + "/" if parent else "") + base[4:])
            elif name:
                rest.append((name, m, data))
        for d in opaque:
            d = self.resolve_parent(d + "/x").rsplit("/", 1)[0] if d else ""
            for c in self.children(d):
                self.nodes.pop(c, None)
        for w in whiteouts:
            self.remove(self.resolve_parent(w))
        for name, m, data in rest:
            path = self.resolve_parent(name)
            meta = {"mode": m.mode & 0o7777, "uid": m.uid, "gid": m.gid}
            old = self.nodes.get(path)
            # since: the layer from which the path has had its kind and mode (findings).
            same = old is not None and (old["kind"], old["mode"]) == (
                "dir" if m.isdir() else "file" if m.isreg() or m.islnk() else
                "symlink" if m.issym() else "other", meta["mode"])
            meta["since"] = old["since"] if same else layer_index
            if m.isdir():
                if old is not None and old["kind"] == "dir":
                    old.update(meta)
                    continue
                new = dict(meta, kind="dir")
            elif m.isreg():
                blob = {"layer": layer_index, "path": path, "size": m.size,
                        "sha256": hashlib.sha256(data).hexdigest()}
                if self.keep is not None and self.keep(path):
                    blob["data"] = data
                self.blobs.append(blob)
                new = dict(meta, kind="file", blob=blob)
            elif m.islnk():
                target = self.nodes.get(self.resolve_parent(m.linkname))
                if target is None or target["kind"] != "file":
                    raise RuntimeError(f"hard link {name} -> {m.linkname}: no such file")
                new = dict(meta, kind="file", blob=target["blob"])
            elif m.issym():
                new = dict(meta, kind="symlink", target=m.linkname)
            else:
                new = dict(meta, kind="other")
            if old is not None:
                self.remove(path)
            self.ensure_parents(path)
            self.nodes[path] = new


def layout_image(layout, manifest_digest=None):
    index = json.load(open(os.path.join(layout, "index.json")))
    if manifest_digest is None:
        manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads(read_blob(layout, manifest_digest))
    config = json.loads(read_blob(layout, manifest["config"]["digest"]))
    return manifest, config


def analyse(layout, manifest_digest=None, max_layers=None, tree=None, on_layer=None):
    """The image's waste and final tree; on_layer(index, tree) runs after each layer."""
    manifest, config = layout_image(layout, manifest_digest)
    if max_layers is not None:  # e.g. strata/base:1 = overlay's first layer
        manifest = dict(manifest, layers=manifest["layers"][:max_layers])
    tree = Tree() if tree is None else tree
    history = [h for h in config.get("history", []) if not h.get("empty_layer")]
    layers = []
    for i, desc in enumerate(manifest["layers"]):
        raw = decompress(read_blob(layout, desc["digest"]))
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == config["rootfs"]["diff_ids"][i]
        tree.apply(i, raw)
        if on_layer is not None:
            on_layer(i, tree)
        layers.append({"index": i, "created_by": history[i].get("created_by", "") if i < len(history) else "",
                       "diff_id": config["rootfs"]["diff_ids"][i]})
    reachable = {id(n["blob"]) for n in tree.nodes.values() if n["kind"] == "file"}
    shipped = sum(b["size"] for b in tree.blobs)
    visible = sum(b["size"] for b in tree.blobs if id(b) in reachable)
    wasted_entries, by_cause = [], {"deleted": 0, "overwritten": 0, "metadata_only": 0}
    for b in tree.blobs:
        if id(b) in reachable:
            continue
        now = tree.nodes.get(b["path"])
        if now is None or now["kind"] != "file":
            cause = "deleted"
        elif now["kind"] == "file" and now["blob"]["sha256"] == b["sha256"]:
            cause = "metadata_only"
        else:
            cause = "overwritten"
        by_cause[cause] += b["size"]
        wasted_entries.append({"layer": b["layer"], "path": b["path"], "size": b["size"], "cause": cause})
    final = {}
    for p in sorted(tree.nodes):
        if not p:
            continue
        n = tree.nodes[p]
        f = {"kind": n["kind"], "mode": format(n["mode"], "04o"), "uid": n["uid"], "gid": n["gid"]}
        if n["kind"] == "file":
            f.update(size=n["blob"]["size"], layer=n["blob"]["layer"], sha256=n["blob"]["sha256"])
        if n["kind"] == "symlink":
            f["target"] = n["target"]
        final[p] = f
    links = {}
    for p, n in tree.nodes.items():
        if n["kind"] == "file":
            links.setdefault(id(n["blob"]), []).append(p)
    return {
        "layers": len(manifest["layers"]),
        "layer_list": layers,
        "shipped_bytes": shipped,
        "visible_bytes": visible,
        "wasted_bytes": shipped - visible,
        "by_cause": by_cause,
        "wasted_paths": {e["path"]: e["cause"] for e in wasted_entries},
        "wasted_entries": wasted_entries,
        "hardlink_groups": sorted(sorted(v) for v in links.values() if len(v) > 1),
        "final": final,
    }


DPKG = "var/lib/dpkg/"


def file_bytes(tree, path):
    """The bytes of the regular file at path (parents resolved), or None."""
    node = tree.nodes.get(tree.resolve_parent(path))
    return node["blob"]["data"] if node is not None and node["kind"] == "file" else None


def installed(status_text):
    """name -> fields of the packages dpkg's status file marks `install ok installed`."""
    out = {}
    for para in status_text.split("\n\n"):
        fields = {}
        for line in para.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:  # skip continuation lines
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        if fields.get("Status") == "install ok installed":
            if fields["Package"] in out:  # one name, two architectures: not in this image
                raise RuntimeError("package installed twice: " + fields["Package"])
            out[fields["Package"]] = fields
    return out


def unowned_group(path):
    """/usr/local, /var/lib, /opt/x: two components under usr, var and opt; else one."""
    parts = path.split("/")
    n = 2 if parts[0] in ("usr", "var", "opt") and len(parts) > 2 else 1
    return "/" + "/".join(parts[:n])


def packages(layout):
    """Package attribution from dpkg's records, layer by layer.

    Per installed package of the final status: its list's regular files in
    the final tree (each list entry resolved as a runtime would: symlinks in
    the parent components are followed, the last component is not, so list
    symlinks and directories are skipped), their count and visible bytes (a
    hard-linked file once), and its wasted bytes: regular-file entries of any
    layer written at one of its list's paths whose bytes no final path holds.
    `layer` is the first layer whose status lists it installed (any version),
    `version_layer` the first that lists its final version. A package
    installed at some layer but absent from the final status (removed) owns
    nothing: it is only named in `removed_packages`. `unowned` groups the
    final regular files no installed package lists (blob counted once per
    group). Paths are absolute, as in dpkg's lists; `files` names the final
    (resolved) paths, `resolved` maps each list entry that reached its file
    through a symlinked directory (libcap2's /lib/...) to that path.
    """
    tree = Tree()
    tree.keep = lambda p: p.startswith(DPKG)
    statuses = []  # per layer: installed packages of the status visible then
    r = analyse(layout, tree=tree, on_layer=lambda i, t: statuses.append(
        installed((file_bytes(t, DPKG + "status") or b"").decode())))
    reachable = {id(n["blob"]) for n in tree.nodes.values() if n["kind"] == "file"}
    final = statuses[-1]
    out, owned = {}, set()
    for name in sorted(final):
        f = final[name]
        arch = f.get("Architecture", "")
        lists = [DPKG + "info/" + name + ":" + arch + ".list", DPKG + "info/" + name + ".list"]
        lst = next(p for p in lists if file_bytes(tree, p) is not None)
        files, at, resolved = {}, set(), {}
        for entry in file_bytes(tree, lst).decode().splitlines():
            at.add(norm(entry))
            path = tree.resolve_parent(entry)
            at.add(path)
            node = tree.nodes.get(path)
            if node is not None and node["kind"] == "file":
                files["/" + path] = node["blob"]
                if path != norm(entry):
                    resolved["/" + norm(entry)] = "/" + path
        owned.update(files)
        wasted = [{"layer": b["layer"], "path": "/" + b["path"], "size": b["size"]}
                  for b in tree.blobs if b["path"] in at and id(b) not in reachable]
        out[name] = {
            "version": f["Version"],
            "architecture": arch,
            "list": "/" + lst,
            "layer": min(i for i, s in enumerate(statuses) if name in s),
            "version_layer": min(i for i, s in enumerate(statuses)
                                 if name in s and s[name]["Version"] == f["Version"]),
            "file_count": len(files),
            "visible_bytes": sum({id(b): b["size"] for b in files.values()}.values()),
            "wasted_bytes": sum(w["size"] for w in wasted),
            "files": {p: b["size"] for p, b in sorted(files.items())},
            "resolved": resolved,
            "wasted_files": wasted,
        }
    ever = set().union(*statuses)
    unowned = {}
    for p, n in sorted(tree.nodes.items()):
        if p and n["kind"] == "file" and "/" + p not in owned:
            g = unowned.setdefault(unowned_group(p), {"files": 0, "blobs": {}})
            g["files"] += 1
            g["blobs"][id(n["blob"])] = n["blob"]["size"]
    r["by_package"] = out
    r["removed_packages"] = sorted(ever - set(final))
    r["unowned"] = {g: {"files": v["files"], "bytes": sum(v["blobs"].values())}
                    for g, v in sorted(unowned.items())}
    return r


RPMDB = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
RPM_QA = os.path.join(HERE, "rpm", "rpm-qa")
RPM_QF = ("P\\t%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"
          "[F\\t%{FILEMODES:octal}\\t%{FILENAMES}\\n]")


def rpm_listing(db):
    """What rpm lists for the database `db` (bytes): name -> package, from the listing
    build.sh saved as rpm/rpm-qa/<sha256>.txt (`rpm -qa --qf RPM_QF`). Where rpm is
    installed the listing is derived again from the bytes and must be the same."""
    digest = hashlib.sha256(db).hexdigest()
    text = open(os.path.join(RPM_QA, digest + ".txt")).read()
    import shutil
    if shutil.which("rpm"):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "rpmdb.sqlite"), "wb").write(db)
            fresh = subprocess.run(["rpm", "--dbpath", d, "-qa", "--qf", RPM_QF],
                                   stdout=subprocess.PIPE, check=True).stdout.decode()
        if fresh != text:
            raise RuntimeError("rpm/rpm-qa/%s.txt is not what rpm lists for it" % digest)
    out, cur = {}, None
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "P":
            name, epoch, version, release, arch = f[1:]
            if name in out:  # one name, two versions or arches: not in this image
                raise RuntimeError("package listed twice: " + name)
            evr = ("" if epoch == "(none)" else epoch + ":") + version + "-" + release
            cur = out[name] = {"version": evr, "architecture": arch, "paths": []}
        else:
            mode = int(f[1], 8)
            # rpm lists the directories a package owns: they are no file of its.
            if mode & 0o170000 != 0o040000:
                cur["paths"].append(f[2])
    return out


def rpm_packages(layout):
    """Package attribution from rpm's own listing of the image's rpmdb.sqlite, layer by
    layer: what `packages()` computes for dpkg, with each package's paths taken from what
    rpm lists for the database the layer shows (`rpm_listing`; directories left out)."""
    tree = Tree()
    tree.keep = lambda p: p in RPMDB
    listings = []  # per layer: what rpm lists for the database visible then

    def on_layer(i, t):
        dbs = [b for b in (file_bytes(t, p) for p in RPMDB) if b is not None]
        listings.append(rpm_listing(dbs[0]) if dbs else {})

    r = analyse(layout, tree=tree, on_layer=on_layer)
    reachable = {id(n["blob"]) for n in tree.nodes.values() if n["kind"] == "file"}
    final = listings[-1]
    out, owned = {}, set()
    for name in sorted(final):
        f = final[name]
        files, at = {}, set()
        for entry in f["paths"]:
            at.add(norm(entry))
            path = tree.resolve_parent(entry)
            at.add(path)
            node = tree.nodes.get(path)
            if node is not None and node["kind"] == "file":
                files["/" + path] = node["blob"]
        owned.update(files)
        wasted = [{"layer": b["layer"], "path": "/" + b["path"], "size": b["size"]}
                  for b in tree.blobs if b["path"] in at and id(b) not in reachable]
        out[name] = {
            "version": f["version"],
            "architecture": f["architecture"],
            "layer": min(i for i, l in enumerate(listings)
                         if name in l and l[name]["architecture"] == f["architecture"]),
            "version_layer": min(i for i, l in enumerate(listings)
                                 if name in l and l[name]["version"] == f["version"]),
            "file_count": len(files),
            "visible_bytes": sum({id(b): b["size"] for b in files.values()}.values()),
            "wasted_bytes": sum(w["size"] for w in wasted),
            "files": {p: b["size"] for p, b in sorted(files.items())},
            "wasted_files": wasted,
        }
    unowned = {}
    for p, n in sorted(tree.nodes.items()):
        if p and n["kind"] == "file" and "/" + p not in owned:
            g = unowned.setdefault(unowned_group(p), {"files": 0, "blobs": {}})
            g["files"] += 1
            g["blobs"][id(n["blob"])] = n["blob"]["size"]
    r["by_package"] = out
    r["removed_packages"] = sorted(set().union(*listings) - set(final))
    r["unowned"] = {g: {"files": v["files"], "bytes": sum(v["blobs"].values())}
                    for g, v in sorted(unowned.items())}
    return r


def compact_final(final, keep_prefixes=("app", "lib", "usr", "etc", "bin/sh", "bin/busybox",
                                        "tmp", "arch.txt", "common.txt")):
    return {p: f for p, f in final.items() if p.startswith(keep_prefixes)}


def check_archives():
    """Every overlay output must carry the layers of overlay-oci (same diff_ids)."""
    import gzip
    manifest, config = layout_image(os.path.join(IMAGES, "overlay-oci"))
    want = config["rootfs"]["diff_ids"]
    for name in ("overlay-docker.tar", "two-images-docker.tar", "docker25-graphdriver.tar",
                 "docker25-containerd.tar", "overlay.oci.tar"):
        with tarfile.open(os.path.join(IMAGES, name)) as t:
            names = t.getnames()
            def read(n):
                m = t.getmember(n)
                while m.issym():  # legacy archives: <id>/layer.tar -> ../<hex>.tar
                    m = t.getmember(norm(os.path.dirname(m.name) + "/" + m.linkname))
                return t.extractfile(m).read()
            if "manifest.json" in names:
                items = json.loads(read("manifest.json"))
                item = [i for i in items if any(tag.endswith("strata/overlay:latest") for tag in i["RepoTags"])][0]
                layers = [decompress(read(l)) for l in item["Layers"]]
            else:  # oci-archive
                idx = json.loads(read("index.json"))
                m = json.loads(read("blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
                layers = [decompress(read("blobs/sha256/" + l["digest"][7:])) for l in m["layers"]]
        got = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
        print(name, "OK" if got == want else "MISMATCH")


MIB = 1 << 20
# The README's table: names of the build context that belong in .dockerignore,
# whether each is a directory, and the line that keeps it out at any depth
# where the context may hold it in subdirectories too.
CONTEXT_NAMES = {".git": (True, ".git"), "node_modules": (True, "**/node_modules"),
                 ".env": (False, "**/.env"), "Dockerfile": (False, "Dockerfile")}
# Where anyone may write by design: the README's world-writable row.
WRITABLE_PLACES = ("tmp", "var/tmp", "dev", "proc", "sys", "run")
# Package managers' caches (the README's cache-left row) that these images could leave.
CACHES = ("var/lib/apt/lists", "var/cache/apt/archives", "var/cache/apk", "root/.cache/pip",
          "root/.npm", "tmp", "var/tmp")
# Dependency installs (the README's cache-order row) that these images run.
INSTALLS = ("npm ci", "npm install", "pip install", "apt-get install", "go mod download")


def waste_severity(n):
    """The README: warning from 1 MiB, else note."""
    return "warning" if n >= MIB else "note"


def below(tree, path):
    """The final regular files at or below path: {path: blob}."""
    pre = path + "/"
    return {p: n["blob"] for p, n in tree.nodes.items()
            if n["kind"] == "file" and (p == path or p.startswith(pre))}


def dockerfile_layers(text, n_layers):
    """(layer, first line, instruction) of the final stage's layer-making
    instructions (COPY, ADD, RUN); continuation lines joined, comments skipped.
    The layers below them are the base image's."""
    instructions, cur, start = [], "", 0
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not cur:
            start = no
        more = line.endswith("\\")
        cur += " " + (line[:-1] if more else line)
        if not more:
            instructions.append((start, " ".join(cur.split())))
            cur = ""
    last_from = max(i for i, (_, ins) in enumerate(instructions) if ins.upper().startswith("FROM "))
    making = [(no, ins) for no, ins in instructions[last_from + 1:]
              if ins.split()[0].upper() in ("COPY", "ADD", "RUN")]
    base = n_layers - len(making)
    return [(base + k, no, ins) for k, (no, ins) in enumerate(making)]


def stages(text):
    """The Dockerfile's stages in order: (name or None, base, instructions),
    continuation lines joined, comments skipped; names in lower case."""
    out, cur, buf = [], None, ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        more = line.endswith("\\")
        buf += " " + (line[:-1] if more else line)
        if more:
            continue
        ins, buf = " ".join(buf.split()), ""
        words = ins.split()
        if words[0].upper() == "FROM":
            words = [w for w in words if not w.startswith("--")]  # --platform=…
            name = words[3].lower() if len(words) > 3 and words[2].upper() == "AS" else None
            cur = (name, words[1], [])
            out.append(cur)
        elif cur is not None:
            cur[2].append(ins)
    return out


def copies_context(ins):
    """COPY or ADD of the whole context: `.` (or `./`, `*`) among the sources,
    not from a stage."""
    words = ins.split()
    args = [w for w in words[1:] if not w.startswith("--")]
    return (words[0].upper() in ("COPY", "ADD") and not any(w.startswith("--from") for w in words)
            and len(args) >= 2 and any(a in (".", "./", "*", "./*") for a in args[:-1]))


def stage_copied_context(text, ins):
    """Whether `ins` is a COPY --from=S whose stage S (by name or index, or a
    stage it starts FROM) copied the whole context."""
    words = ins.split()
    frm = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    if words[0].upper() != "COPY" or frm is None:
        return False
    st = stages(text)
    def find(name):
        for i, (n, _, _) in enumerate(st):
            if n == name.lower():
                return i
        return int(name) if name.isdigit() and int(name) < len(st) else None
    i = find(frm)
    while i is not None:
        if any(copies_context(x) for x in st[i][2]):
            return True
        j = find(st[i][1])
        i = j if j is not None and j < i else None
    return False


def findings(layout, dockerfile):
    """What strata's findings must say of an image, rule by rule (README's table).

    `findings` are those the image and its config show; `with_dockerfile`
    those that need the Dockerfile's lines (cache order: a buildah history
    reads `COPY dir:<hash>`, which hides the COPY's sources), with the line of
    each layer they name; `layer_lines` the line of each layer the final
    stage made. Paths are absolute; layers 0-based. A mode finding's layer
    (`shipped_by`) is the one that set the most of its modes: since when each
    path has had its final kind and mode.
    """
    tree = Tree()
    tree.keep = lambda p: "node_modules/" in p and p.endswith(".json")
    r = analyse(layout, tree=tree)
    manifest, config = layout_image(layout)
    n = r["layers"]
    shipped = [sum(b["size"] for b in tree.blobs if b["layer"] == k) for k in range(n)]
    history = [l["created_by"] for l in r["layer_list"]]
    out = []

    # context-leaked: paths named as context files that a COPY of the context
    # (not the base's ADD of its root filesystem) created.
    def from_context(k):
        c = history[k]
        rootfs = "#(nop) ADD file:" in c and c.rstrip().endswith(" in /")
        return k > 0 and ("#(nop) COPY " in c or "#(nop) ADD " in c) and not rootfs
    first_layer = {}
    for b in tree.blobs:
        first_layer.setdefault(b["path"], b["layer"])
    leaks = []
    for p, node in sorted(tree.nodes.items()):
        name = p.rsplit("/", 1)[-1]
        if name not in CONTEXT_NAMES or CONTEXT_NAMES[name][0] != (node["kind"] == "dir"):
            continue
        if any(p.startswith(q + "/") for q, *_ in leaks):
            continue
        files = below(tree, p)
        if not files:
            raise RuntimeError(p + ": a context name without files; which layer made it?")
        layer = min(b["layer"] for b in files.values())
        leaks.append((p, layer, files, CONTEXT_NAMES[name][1]))
    text = open(dockerfile).read()
    lines = dockerfile_layers(text, n)
    by_line = {k: ins for k, _, ins in lines}
    # With the Dockerfile, a layer is the context's when its instruction copies
    # the context, or copies from a stage that did (history cannot tell: a COPY
    # --from reads `COPY dir:` there too).
    staged = [l for l in leaks if l[1] in by_line and (copies_context(by_line[l[1]])
              or stage_copied_context(text, by_line[l[1]]))]
    def leak_finding(found):
        found.sort(key=lambda l: (-sum(b["size"] for b in l[2].values()), l[0]))
        return {
            "id": "context-leaked",
            "severity": "error" if any(l[3] == "**/.env" for l in found) else "warning",
            "bytes": sum(b["size"] for l in found for b in l[2].values()),
            "files": sum(len(l[2]) for l in found),
            "shipped_by": min(l[1] for l in found),
            "paths": ["/" + l[0] for l in found][:5],
            "value": "\n".join(sorted({l[3] for l in found})),
        }
    context_with_dockerfile = leak_finding(staged) if staged else None
    context = [l for l in leaks if from_context(l[1])]
    if context:
        out.append(dict(leak_finding(context),
                        not_leaked=["/" + l[0] for l in leaks if l not in context]))

    # duplicate: final files of 64 KiB or more with equal (size, sha256), one
    # blob per hard-link group; a set is reported when one copy spares 1 MiB.
    sets = {}
    for p, node in sorted(tree.nodes.items()):
        if node["kind"] == "file" and node["blob"]["size"] >= 64 << 10:
            sets.setdefault((node["blob"]["size"], node["blob"]["sha256"]), {}).setdefault(
                id(node["blob"]), (p, node["blob"]))
    for (size, _), blobs in sorted(sets.items(), key=lambda kv: -kv[0][0] * (len(kv[1]) - 1)):
        saved = size * (len(blobs) - 1)
        if len(blobs) > 1 and saved >= MIB:
            out.append({
                "id": "duplicate",
                "severity": "warning" if saved >= 10 * MIB else "note",
                "bytes": saved,
                "files": len(blobs),
                "shipped_by": max(b["layer"] for _, b in blobs.values()),
                "paths": sorted("/" + p for p, _ in blobs.values())[:3],
            })

    # setuid-file, world-writable: the final modes.
    def place(p):
        return any(p.startswith(w + "/") for w in WRITABLE_PLACES)
    setuid = {p: n for p, n in tree.nodes.items() if n["kind"] == "file" and n["mode"] & 0o6000}
    writable = {p: n for p, n in tree.nodes.items()
                if p and n["kind"] != "symlink" and n["mode"] & 0o002 and not place(p)
                and not (n["kind"] == "dir" and n["mode"] & 0o1000)}
    for rule, found, severity in (("setuid-file", setuid, "note"),
                                  ("world-writable", writable, "warning")):
        if found:
            # The layer that set the most of the modes (the first of equals): since when
            # each path has had its final kind and mode.
            sets = {}
            for node in found.values():
                sets[node["since"]] = sets.get(node["since"], 0) + 1
            out.append({
                "id": rule, "severity": severity, "files": len(found),
                "bytes": sum(n["blob"]["size"] for n in found.values() if n["kind"] == "file"),
                "paths": sorted("/" + p for p in found)[:5],
                "shipped_by": min(k for k, v in sets.items() if v == max(sets.values())),
            })

    # cache-left: the final regular files under a cache directory.
    for c in CACHES:
        files = below(tree, c)
        if files and c in tree.nodes and tree.nodes[c]["kind"] == "dir":
            by_layer = {}
            for b in files.values():
                by_layer[b["layer"]] = by_layer.get(b["layer"], 0) + b["size"]
            total = sum(b["size"] for b in files.values())
            out.append({
                "id": "cache-left", "severity": waste_severity(total), "bytes": total,
                "files": len(files), "cache": "/" + c,
                "shipped_by": min(k for k, v in by_layer.items() if v == max(by_layer.values())),
                "paths": ["/" + p for p, _ in sorted(files.items(), key=lambda pb: (-pb[1]["size"], pb[0]))][:3],
            })

    # build-toolchain: npm's development dependencies (node_modules/.package-lock.json
    # marks them `dev`), each owning its directory but its own node_modules.
    dev = []
    for lock in [p for p in tree.nodes if p.endswith("node_modules/.package-lock.json")]:
        project = lock[: -len("node_modules/.package-lock.json")]
        data = json.loads(tree.nodes[lock]["blob"]["data"])
        for key, entry in data["packages"].items():
            if entry.get("dev") and project + key + "/package.json" in tree.nodes:
                d = project + key
                files = {p: b for p, b in below(tree, d).items()
                         if "/node_modules/" not in p[len(d):]}
                name = json.loads(tree.nodes[d + "/package.json"]["blob"]["data"])["name"]
                dev.append((name, files, first_layer[d + "/package.json"]))
    if dev:
        size = lambda f: sum(b["size"] for b in f.values())
        dev.sort(key=lambda d: (-size(d[1]), d[0]))
        by_layer = {}
        for _, f, k in dev:
            by_layer[k] = by_layer.get(k, 0) + size(f)
        out.append({
            "id": "build-toolchain", "severity": "warning",
            "bytes": sum(size(f) for _, f, _ in dev), "files": sum(len(f) for _, f, _ in dev),
            "packages": [d[0] for d in dev], "value": str(len(dev)),
            "shipped_by": min(k for k, v in by_layer.items() if v == max(by_layer.values())),
        })

    # runs-as-root, no-healthcheck: the config.
    run = config.get("config") or {}
    user = run.get("User") or ""
    name = user.split(":")[0].strip()
    if name in ("", "root") or set(name) == {"0"}:
        out.append({"id": "runs-as-root", "severity": "warning", "value": user})
    check = run.get("Healthcheck")
    if not check or (check.get("Test") or [""])[0] == "NONE":
        out.append({"id": "no-healthcheck", "severity": "note"})

    # deleted-later, overwritten, metadata-copy need waste; large-layer and
    # many-layers 500 MB and 50 layers: none of them here (asserted).
    assert r["wasted_bytes"] == 0 and max(shipped) <= 500_000_000 and n <= 50

    # cache-order: a COPY of the whole context before an install, by the Dockerfile.
    with_dockerfile = []
    for i, (k, no, ins) in enumerate(lines):
        words = ins.split()
        if words[0].upper() in ("COPY", "ADD") and "." in words[1:-1] and not any(
                w.startswith("--from") for w in words):
            assert "#(nop) COPY dir:" in history[k], history[k]
            for k2, no2, ins2 in lines[i + 1:]:
                how = next((h for h in INSTALLS if h in ins2), None)
                if ins2.startswith("RUN ") and how:
                    assert how in history[k2], history[k2]
                    with_dockerfile.append({
                        "id": "cache-order", "severity": waste_severity(shipped[k2]),
                        "bytes": shipped[k2], "trigger": k, "shipped_by": k2, "value": how,
                        "lines": {"trigger": no, "shipped_by": no2},
                    })
                    break
    return {
        "layers": n,
        "layer_list": [dict(l, shipped_bytes=shipped[l["index"]]) for l in r["layer_list"]],
        "shipped_bytes": r["shipped_bytes"],
        "visible_bytes": r["visible_bytes"],
        "wasted_bytes": r["wasted_bytes"],
        "user": user,
        "healthcheck": check,
        "findings": out,
        "with_dockerfile": with_dockerfile,
        "context_with_dockerfile": context_with_dockerfile,
        "layer_lines": {str(k): no for k, no, _ in lines},
        "dockerfile": os.path.relpath(dockerfile, HERE),
    }



def main():
    args = sys.argv[1:]
    if args[:1] == ["--check"]:
        check_archives()
        return
    if args[:1] == ["--packages"]:
        r = packages(os.path.join(IMAGES, "packages-oci"))
        for name, p in r["by_package"].items():
            print(name, p["version"], p["architecture"], "L%d" % p["layer"], "L%d" % p["version_layer"],
                  p["file_count"], "files", p["visible_bytes"], "visible", p["wasted_bytes"], "wasted")
        print("removed:", " ".join(r["removed_packages"]))
        for g, u in r["unowned"].items():
            print("unowned", g, u["files"], "files", u["bytes"], "bytes")
        return
    if args[:1] == ["--tree"]:
        r = analyse(os.path.join(IMAGES, args[1]))
        for p, f in r["final"].items():
            print(p, json.dumps(f, sort_keys=True))
        return
    out = {"_about": "Computed by testdata/expected.py (independent oracle) from the OCI layouts; "
                     "see README.md for which output file carries which image."}
    for key, layout, n in (("base", "overlay-oci", 1), ("overlay", "overlay-oci", None),
                           ("overlayfs", "overlayfs-oci", None)):
        r = analyse(os.path.join(IMAGES, layout), max_layers=n)
        r["final"] = compact_final(r["final"])
        r["source"] = "images/" + layout + ("" if n is None else f" (first {n} layer)")
        out[key] = r
    multi = os.path.join(IMAGES, "multi-oci")
    index = json.load(open(os.path.join(multi, "index.json")))
    top = json.loads(read_blob(multi, index["manifests"][0]["digest"]))
    for m in top["manifests"]:
        p = m["platform"]
        key = "multi/" + p["os"] + "/" + p["architecture"] + ("/" + p["variant"] if p.get("variant") else "")
        r = analyse(multi, m["digest"])
        r["source"] = "images/multi-oci@" + m["digest"]
        out[key] = r
    r = packages(os.path.join(IMAGES, "packages-oci"))
    r["source"] = "images/packages-oci"
    out["packages"] = r
    r = rpm_packages(os.path.join(IMAGES, "rpm-oci"))
    r["source"] = "images/rpm-oci"
    out["rpm"] = r
    for name in ("bad", "tidy", "staged"):
        r = findings(os.path.join(IMAGES, "findings-" + name),
                     os.path.join(HERE, "findings", name, "Dockerfile"))
        r["source"] = "images/findings-" + name
        out["findings-" + name] = r
    text = json.dumps(out, indent=1, sort_keys=False) + "\n"
    if args[:1] == ["--write"]:
        open(os.path.join(HERE, "expected.json"), "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
