import tarfile, io, json, hashlib, sys
def layer(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as t:
        for name, size in files:
            ti = tarfile.TarInfo(name); ti.size = size; ti.mtime = 0; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(b'x'*size))
    return b.getvalue()
def image(out, layers):
    blobs = [layer(l) for l in layers]
    diff_ids = ['sha256:' + hashlib.sha256(x).hexdigest() for x in blobs]
    cfg = json.dumps({"architecture":"amd64","os":"linux","config":{},
        "rootfs":{"type":"layers","diff_ids":diff_ids},
        "history":[{"created_by":"layer %d"%i} for i in range(len(blobs))]}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    with tarfile.open(out, 'w') as t:
        def add(n, data):
            ti = tarfile.TarInfo(n); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        add(cid + '.json', cfg)
        paths = []
        for i, x in enumerate(blobs):
            p = '%s/layer.tar' % diff_ids[i][7:]; add(p, x); paths.append(p)
        add('manifest.json', json.dumps([{"Config": cid + '.json', "RepoTags": ["probe:latest"], "Layers": paths}]).encode())
image('two.tar', [[('a', 1000)], [('a', 1000), ('b', 3000)]])   # eff 0.8, wasted 2000, user 0.5
image('one.tar', [[('a', 1000)]])                                # single layer
image('half.tar', [[('a', 1000)], [('a', 1000)]])                # eff 0.5, wasted 2000, user 2.0
