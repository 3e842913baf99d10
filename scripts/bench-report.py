#!/usr/bin/env python3
"""Merges the per-part benchmark JSON files in a directory into results.json and draws the
SVG plots people would rather look at. Standard library only."""
import json
import os
import sys
import datetime
import platform

out = sys.argv[1]
parts = {}
for name in ("store", "capture", "restore", "slfs", "servers"):
    path = os.path.join(out, name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            parts[name] = json.load(f)
results = {
    "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"kernel": platform.release(), "cpus": os.cpu_count()},
    "parts": parts,
}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(results, f, indent=2)


def bars(path, title, unit, items, goal=None):
    """A horizontal bar chart: items is [(label, value)]."""
    if not items:
        return
    width, row, left = 640, 34, 230
    height = 60 + row * len(items)
    top = max(v for _, v in items + ([("goal", goal)] if goal else []))
    scale = (width - left - 90) / top if top > 0 else 1
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
           f'<text x="10" y="24" font-size="16" font-weight="bold">{title}</text>']
    for i, (label, v) in enumerate(items):
        y = 44 + i * row
        svg.append(f'<text x="10" y="{y + 17}">{label}</text>')
        svg.append(f'<rect x="{left}" y="{y + 4}" width="{max(1, v * scale):.1f}" height="{row - 12}" fill="#4a7bb7"/>')
        svg.append(f'<text x="{left + v * scale + 6:.1f}" y="{y + 17}">{v:g} {unit}</text>')
    if goal:
        gx = left + goal * scale
        svg.append(f'<line x1="{gx:.1f}" y1="40" x2="{gx:.1f}" y2="{height - 8}" stroke="#c0392b" stroke-dasharray="4 3"/>')
        svg.append(f'<text x="{gx + 4:.1f}" y="{height - 10}" fill="#c0392b">goal {goal:g} {unit}</text>')
    svg.append('</svg>')
    with open(os.path.join(out, path), "w") as f:
        f.write("\n".join(svg))


s = parts.get("store")
if s:
    bars("store-bandwidth.svg", "slos: 1 GiB epoch vs dd (same file system)", "MB/s",
         [("slos write, durable", s.get("writeMBps", 0)), ("dd oflag=direct conv=fsync", s.get("ddMBps", 0)),
          ("slos read, warm", s.get("readWarmMBps", 0))])
c = parts.get("capture")
if c:
    items = [("full, 1 GiB", c.get("full_frozen_ms", 0)),
             ("delta 1%, median of 20", c.get("delta_1pct_frozen_ms_median", 0)),
             ("plain process_vm_readv, 1 GiB", c.get("plain_process_vm_readv_frozen_ms", 0)),
             ("16 threads: freeze", c.get("threads16_freeze_ms_median", 0))]
    bars("capture-frozen.svg", "Checkpoint: time frozen", "ms", [(l, v) for l, v in items if v])
r = parts.get("restore")
if r:
    items = [(k, v) for k, v in r.items() if isinstance(v, (int, float)) and k.endswith("_ms")]
    bars("restore-time.svg", "Restore of a 1 GiB process", "ms", items, goal=400)

sv = parts.get("servers")
if sv:
    items = [("unattached", sv["unattached"]["setPerSecond"])]
    for period in (100, 10, 1):
        k = "period%dms" % period
        if k in sv:
            items.append(("checkpoint every %d ms" % period, sv[k]["setPerSecond"]))
    bars("redis-throughput.svg", "redis-benchmark SET throughput against checkpoint period", "req/s", items)
