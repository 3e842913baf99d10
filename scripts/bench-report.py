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


def lines(path, title, xlabel, ylabel, series, xs_log=False, hlines=()):
    """An x-y chart: series is [(name, colour, [(x, y)])]; hlines [(label, colour, y)] dashed."""
    import math
    pts = [p for _, _, ps in series for p in ps]
    if not pts:
        return
    width, height, left, right, top, bottom = 780, 380, 90, 290, 40, 50
    fx = (lambda x: math.log10(x)) if xs_log else (lambda x: x)
    xmin, xmax = min(fx(x) for x, _ in pts), max(fx(x) for x, _ in pts)
    ymax = max([y for _, y in pts] + [y for _, _, y in hlines]) * 1.1 or 1
    num = lambda v: f"{v:,.0f}" if ymax >= 1000 else f"{v:.3g}"
    if xmax == xmin:
        xmax = xmin + 1
    px = lambda x: left + (fx(x) - xmin) / (xmax - xmin) * (width - left - right)
    py = lambda y: height - bottom - y / ymax * (height - top - bottom)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<text x="10" y="22" font-size="16" font-weight="bold">{title}</text>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">{xlabel}</text>',
           f'<text x="14" y="{(top + height - bottom) / 2:.0f}" transform="rotate(-90 14 {(top + height - bottom) / 2:.0f})" text-anchor="middle">{ylabel}</text>']
    for i in range(5):
        y = ymax * i / 4
        svg.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{num(y)}</text>')
        svg.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
    for x in sorted({x for x, _ in pts}):
        svg.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:g}</text>')
    for label, colour, y in hlines:
        svg.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" stroke="{colour}" stroke-dasharray="5 4"/>')
        # inside the plot, just above its line: the legend's column is to the right
        svg.append(f'<text x="{width - right - 4}" y="{py(y) - 4:.1f}" text-anchor="end" fill="{colour}">{label}</text>')
    for n, (name, colour, ps) in enumerate(series):
        ps = sorted(ps)
        svg.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                   % (colour, " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in ps)))
        for x, y in ps:
            svg.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>')
            svg.append(f'<text x="{px(x) + 5:.1f}" y="{py(y) - 6:.1f}" fill="{colour}">{num(y)}</text>')
        svg.append(f'<text x="{width - right + 60}" y="{top + 16 + 18 * n}" fill="{colour}">{name}</text>')
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
    by = c.get("frozen_by_size")
    if by:
        lines("capture-frozen-by-size.svg", "Checkpoint: time frozen against process size", "process size (MiB, log scale)",
              "frozen (ms)", [("full", "#4a7bb7", [(p["mib"], p["full_frozen_ms_median"]) for p in by]),
                              ("1% of pages written", "#e67e22", [(p["mib"], p["delta_1pct_frozen_ms_median"]) for p in by])],
              xs_log=True)
r = parts.get("restore")
if r:
    items = [(k, v) for k, v in r.items() if isinstance(v, (int, float)) and k.endswith("_ms")]
    bars("restore-time.svg", "Restore of a 1 GiB process", "ms", items, goal=400)

sv = parts.get("servers")
if sv:
    # the runs every 10 ms at other budgets than the default: (label, colour, key)
    budgets = [b for b in (("no budget", "#8e44ad", "period10msNoBudget"),
                           ("5% frozen, no CPU budget", "#d35400", "period10msFrozenOnly"),
                           ("10% frozen, 10% CPU", "#16a085", "period10msBudget10"),
                           ("default, memory.precopy on", "#7f8c8d", "period10msPrecopy")) if b[2] in sv]
    periods = [p for p in (1, 10, 100) if "period%dms" % p in sv]
    ratio = lambda v: v["ratioToUnattached"]
    frozen = lambda v: v["slsd"]["frozenMedianMicros"] / 1000
    lines("redis-throughput.svg", "redis SET throughput, checkpointed, as a share of unattached",
          "period (ms, log scale)", "share of unattached (median of 5 rounds)",
          [("5% frozen, 5% CPU (default)", "#4a7bb7", [(p, ratio(sv["period%dms" % p])) for p in periods])]
          + [(label, colour, [(10, ratio(sv[key]))]) for label, colour, key in budgets],
          xs_log=True, hlines=[("goal: 90% of unattached", "#c0392b", 0.9)])
    lines("redis-frozen-by-period.svg", "redis (100k keys): median time frozen per checkpoint", "period (ms, log scale)",
          "frozen (ms)", [("under load", "#e67e22", [(p, frozen(sv["period%dms" % p])) for p in periods])]
          + [(label, colour, [(10, frozen(sv[key]))]) for label, colour, key in budgets], xs_log=True,
          hlines=[("goal: 5 ms", "#c0392b", 5)] + ([("at rest, every 10 ms", "#27ae60", sv["idle10ms"]["frozenMedianMicros"] / 1000)]
                                                   if "idle10ms" in sv else []))
