#!/usr/bin/env python3
"""Prints JMH JSON results (RnnBench, OrtBench) as a Markdown table of medians (ms), side by
side, with each engine backend's speed-up over ONNX Runtime at the same thread count
(ORT's median / the backend's: above 1 means faster than ORT).

usage: tools/jmh_table.py RESULT.json [RESULT.json ...]
"""
import json, sys

ORDER = ["scalar", "vector", "openblas", "onednn", "ort"]
rows, cols = {}, set()
for path in sys.argv[1:]:
    for r in json.load(open(path)):
        p = r["params"]
        who = "ort" if r["benchmark"].split(".")[-2] == "OrtBench" else p["backend"]
        key = (who, p.get("threads", "1"))
        cols.add(key)
        rows.setdefault(p["shape"], {})[key] = r["primaryMetric"]["scorePercentiles"]["50.0"]

cols = sorted(cols, key=lambda c: (c[1], ORDER.index(c[0]) if c[0] in ORDER else 9))
ratios = [c for c in cols if c[0] not in ("ort", "scalar") and ("ort", c[1]) in cols]
head = [f"{w} {t}T" for w, t in cols] + [f"{w}/ORT {t}T" for w, t in ratios]
print("| shape | " + " | ".join(head) + " |")
print("|---" * (len(head) + 1) + "|")
for shape, v in rows.items():
    cells = [f"{v[c]:.3f}" if c in v else "" for c in cols]
    for w, t in ratios:
        a, b = v.get((w, t)), v.get(("ort", t))
        cells.append(f"{b / a:.2f}x" if a and b else "")
    print(f"| {shape} | " + " | ".join(cells) + " |")
