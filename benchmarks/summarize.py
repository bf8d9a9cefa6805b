"""Medians over several result files: ``python -m benchmarks.summarize A.json B.json ...``.

Rows are matched by (scenario, variant, metric); a row's value, baseline and ratio are the
medians over the files that have it, and it counts as met only if it was met in the median
(ratio against target) *and* in a majority of the runs. Prints a table (``--markdown`` for the
README) and, with ``--json PATH``, writes the merged rows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import median, print_table

Key = tuple[str, str, str]


def merge(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order: list[Key] = []
    groups: dict[Key, list[dict[str, Any]]] = {}
    for run in runs:
        for r in run["rows"]:
            key = (r["scenario"], r["variant"], r["metric"])
            if key not in groups:
                order.append(key)
                groups[key] = []
            groups[key].append(r)
    merged = []
    for key in order:
        rows = groups[key]
        out = dict(rows[0])
        for field in ("value", "baseline", "ratio"):
            xs = [r[field] for r in rows if isinstance(r.get(field), (int, float))]
            out[field] = median(xs) if xs else rows[0].get(field)
        mets = [r["met"] for r in rows if r.get("met") is not None]
        if mets:
            out["met"] = sum(mets) * 2 > len(mets)
        out["note"] = (
            f"median of {len(rows)} run(s); met in {sum(mets)}/{len(mets)}"
            if mets
            else (f"median of {len(rows)} run(s)")
        )
        merged.append(out)
    return merged


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}"
    return "" if v is None else str(v)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenario | variant | metric | value | baseline | ratio | target | met |", "|---" * 8 + "|"]
    for r in rows:
        met = "" if r.get("met") is None else ("yes" if r["met"] else "**no**")
        value = f"{_fmt(r['value'])} {r.get('unit') or ''}"
        lines.append(
            f"| {r['scenario']} | {r['variant']} | {r['metric']} | {value} | "
            f"{_fmt(r.get('baseline'))} | {_fmt(r.get('ratio'))} | {r.get('target') or ''} | {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.summarize")
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    runs = [json.loads(p.read_text()) for p in a.files]
    rows = merge(runs)
    if a.markdown:
        print(markdown(rows))
    else:
        print_table(rows)
    if a.json:
        meta = {k: v for k, v in runs[0].items() if k != "rows"}
        meta["merged_from"] = [p.name for p in a.files]
        a.json.write_text(json.dumps({**meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
