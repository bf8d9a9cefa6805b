"""Summarize py-spy collapsed stacks: ``python -m benchmarks.profile_summary FILE [--top N]``.

py-spy's ``--format raw`` writes one line per distinct stack, ``frame;frame;...;leaf count``,
each frame ``function (file:line)``. This prints, per function, the share of samples in
which it is the leaf ("own") and in which it appears anywhere on the stack ("total"), which
is what the closing note quotes for every missed target.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py)``; line numbers merged."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "pysignalr_server/", "lib/python3"):
        i = path.find(marker)
        if i >= 0:
            path = path[i:]
            break
    return f"{m.group('func')} ({path})"


def summarize(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        n = int(m.group(2))
        frames = [_name(f) for f in m.group(1).split(";") if f]
        # py-spy puts the process/thread label first; idle samples end in a select/epoll call
        samples += n
        if frames:
            own[frames[-1]] += n
        for f in set(frames):
            total[f] += n
    return samples, own, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_summary")
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)
    for path in a.files:
        samples, own, total = summarize(path)
        print(f"== {path}  ({samples} samples)")
        print(f"{'own %':>7} {'total %':>8}  function")
        for name, n in own.most_common(a.top):
            print(f"{100 * n / samples:7.1f} {100 * total[name] / samples:8.1f}  {name}")
        print(f"-- by total (top {a.top})")
        for name, n in total.most_common(a.top):
            print(f"{100 * own[name] / samples:7.1f} {100 * n / samples:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
