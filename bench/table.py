#!/usr/bin/env python3
"""Prints bench/run.sh's results (a TSV of runs) as a markdown table of medians, and, given
bench/run.sh's busy.tsv as well, where the two cores went while each image's longest layer
was read.

Columns: wall time, CPU time (user + sys), peak RSS, wall time against the floor (the image's
blobs decompressed in parallel with strata's decompressors) and against the verification
floor (the same plus the blob and tar SHA-256), and how many times slower than strata a peer
is (wall time; for "strata TUI ready", the explorer's time to its first full screen against
`strata analyze`). A run killed by its timeout shows as "> T s".

Ratios are paired: each repetition runs every tool in turn, so a tool's run is divided by the
reference's run of the same repetition, and the median of those quotients is shown, with the
middle half of them (25th to 75th percentile) for strata against the verification floor. On
a noisy machine the machine's drift cancels within a repetition, and the quotients say how
sure a ratio near a target is. A tool run fewer than three times (dive) is compared with the
reference's median instead.
"""
import statistics
import sys
from collections import OrderedDict


def quantile(values, q):
    """The q-quantile of sorted values, interpolated."""
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def quotients(walls, key, ref):
    """Wall time of `key` over `ref`'s, repetition by repetition (sorted), or None when no
    repetition has both."""
    a, b = walls.get(key, {}), walls.get(ref, {})
    qs = sorted(a[r] / b[r] for r in a if r in b and b[r] > 0)
    return qs or None


def main():
    runs = OrderedDict()
    walls = {}
    for line in open(sys.argv[1]):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        s, tool, rep, wall, user, sys_, rss, status = f[:8]
        runs.setdefault((s, tool), []).append((float(wall), float(user) + float(sys_), int(rss), int(status)))
        walls.setdefault((s, tool), {})[rep] = float(wall)
    med = {}
    for key, rs in runs.items():
        timed_out = any(r[3] == 124 for r in rs)
        med[key] = (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                    statistics.median(r[2] for r in rs) / 1024, timed_out, len(rs))
    print("| image | tool | wall s | CPU s | peak RSS MB | × floor | × floor+sha256 | × strata |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")

    def ratio(s, tool, ref, digits, spread=False):
        """`tool` against `ref` on set `s`: the median paired quotient (with its middle half
        when `spread`), else the quotient of medians; empty without `ref`."""
        qs = quotients(walls, (s, tool), (s, ref))
        if qs and len(qs) >= 3 and len(qs) == len(runs[(s, tool)]):
            text = f"{quantile(qs, 0.5):.{digits}f}"
            if spread:
                text += f" ({quantile(qs, 0.25):.{digits}f}-{quantile(qs, 0.75):.{digits}f})"
            return text
        other = med.get((s, ref))
        if not other or other[0] <= 0:
            return ""
        return f"{med[(s, tool)][0] / other[0]:.{digits}f}"

    for (s, tool), (wall, cpu, rss, timed_out, n) in med.items():
        w = f"> {wall:.0f}" if timed_out else f"{wall:.2f}"
        xf = ratio(s, tool, "floor", 2) if tool != "floor" else ""
        xv = ""
        if tool.startswith("strata") and "no-verify" not in tool:
            xv = ratio(s, tool, "floor+sha256", 2, spread=tool == "strata")
        xs = ""
        if tool in ("dive", "diving"):
            xs = ratio(s, tool, "strata", 1)
            if xs and timed_out:
                xs = "> " + xs
        elif tool == "strata TUI ready":
            xs = ratio(s, tool, "strata", 2)
        rss_s = "" if timed_out else f"{rss:.0f}"
        cpu_s = "" if timed_out else f"{cpu:.2f}"
        print(f"| {s} | {tool} | {w} | {cpu_s} | {rss_s} | {xf} | {xv} | {xs} |")
    print()
    print("Medians of the runs per tool (dive: one run). × floor: wall time over the floor's; "
          "× floor+sha256: over the verification floor's; × strata: a peer's wall time over "
          "strata's (for the TUI: time to its first full screen over `analyze`). Ratios are "
          "medians of per-repetition quotients (in parentheses: their 25th-75th percentiles).")
    if len(sys.argv) > 2:
        busy_table(sys.argv[2])


def busy_table(path):
    """The busy.tsv of bench/run.sh: each image's longest layer read, its reader's and its
    hash thread's CPU time, and the share of the two cores left idle meanwhile."""
    rows = [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
    if not rows:
        return
    print()
    print("| image | longest layer | read ms | reader busy ms | hash thread busy ms | 2 cores left by both |")
    print("|---|---:|---:|---:|---:|---:|")
    for s, layer, wall, reader, hashed, idle in rows:
        print(f"| {s} | {layer} | {wall} | {reader} | {hashed} | {float(idle) * 100:.0f} % |")
    print()
    print("One run with STRATA_TRACE per image: the CPU time of the thread that read the "
          "longest layer and of its hash thread (- when it hashed inline) against the read's "
          "wall time; the last column is the share of both cores' time during that read neither used "
          "(the applier and the other layers' readers run there, or nothing does).")


if __name__ == "__main__":
    main()
