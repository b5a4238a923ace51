#!/usr/bin/env python3
"""Prints JMH JSON results (RnnBench, OrtBench) as a Markdown table of medians, side by side.

usage: tools/jmh_table.py RESULT.json [RESULT.json ...]
"""
import json, sys
from collections import OrderedDict

rows = OrderedDict()
cols = []
for path in sys.argv[1:]:
    for r in json.load(open(path)):
        p = r["params"]
        bench = r["benchmark"].split(".")[-2]
        who = "ort" if bench == "OrtBench" else p.get("backend", "?")
        key = f"{who} {p.get('threads', '1')}T"
        if key not in cols:
            cols.append(key)
        rows.setdefault(p["shape"], {})[key] = r["primaryMetric"]["scorePercentiles"]["50.0"]

order = sorted(cols, key=lambda c: (c.split()[1], ["scalar", "vector", "openblas", "onednn", "ort"].index(c.split()[0])
                                    if c.split()[0] in ["scalar", "vector", "openblas", "onednn", "ort"] else 9))
print("| shape | " + " | ".join(order) + " | vector/ORT 1T | vector/ORT 2T |")
print("|---" * (len(order) + 3) + "|")
for shape, v in rows.items():
    cells = [f"{v[c]:.3f}" if c in v else "" for c in order]
    ratios = []
    for t in ("1T", "2T"):
        a, b = v.get(f"vector {t}"), v.get(f"ort {t}")
        ratios.append(f"{b / a:.2f}x" if a and b else "")
    print(f"| {shape} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
