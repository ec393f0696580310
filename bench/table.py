#!/usr/bin/env python3
"""Prints bench/run.sh's results (a TSV of runs) as a markdown table of medians.

Columns: wall time, CPU time (user + sys), peak RSS, wall time against the floor (the image's
blobs decompressed in parallel with strata's decompressors) and against the verification
floor (the same plus the blob and tar SHA-256), and how many times slower than strata a peer
is (wall time; for "strata TUI ready", the explorer's time to its first full screen against
`strata analyze`). A run killed by its timeout shows as "> T s".
"""
import statistics
import sys
from collections import OrderedDict


def main():
    runs = OrderedDict()
    for line in open(sys.argv[1]):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        s, tool, _rep, wall, user, sys_, rss, status = f[:8]
        runs.setdefault((s, tool), []).append((float(wall), float(user) + float(sys_), int(rss), int(status)))
    med = {}
    for key, rs in runs.items():
        timed_out = any(r[3] == 124 for r in rs)
        med[key] = (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs),
                    statistics.median(r[2] for r in rs) / 1024, timed_out, len(rs))
    print("| image | tool | wall s | CPU s | peak RSS MB | × floor | × floor+sha256 | × strata |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (s, tool), (wall, cpu, rss, timed_out, n) in med.items():
        floor = med.get((s, "floor"))
        strata = med.get((s, "strata"))
        w = f"> {wall:.0f}" if timed_out else f"{wall:.2f}"
        xf = f"{wall / floor[0]:.2f}" if floor and floor[0] > 0 and tool != "floor" else ""
        vfloor = med.get((s, "floor+sha256"))
        xv = ""
        if vfloor and vfloor[0] > 0 and tool.startswith("strata") and "no-verify" not in tool:
            xv = f"{wall / vfloor[0]:.2f}"
        xs = ""
        if strata and strata[0] > 0 and tool in ("dive", "diving"):
            xs = f"{'> ' if timed_out else ''}{wall / strata[0]:.1f}"
        elif strata and strata[0] > 0 and tool == "strata TUI ready":
            xs = f"{wall / strata[0]:.2f}"
        rss_s = "" if timed_out else f"{rss:.0f}"
        cpu_s = "" if timed_out else f"{cpu:.2f}"
        print(f"| {s} | {tool} | {w} | {cpu_s} | {rss_s} | {xf} | {xv} | {xs} |")
    print()
    print("Medians of the runs per tool (dive: one run). × floor: wall time over the floor's; "
          "× floor+sha256: over the verification floor's; × strata: a peer's wall time over "
          "strata's (for the TUI: time to its first full screen over `analyze`).")


if __name__ == "__main__":
    main()
