"""``python -m benchmarks [--quick] [--json PATH] [scenario ...]``"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from .common import RESULTS_DIR, DeliveryError, print_table, row, write_json

SCENARIOS = ["echo", "fanout", "idle", "churn", "crossnode"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="1 run, small sizes (< 60 s total)")
    ap.add_argument("--json", default=str(RESULTS_DIR / "latest.json"))
    ap.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server under test to core 0 and the load generators to the others",
    )
    ap.add_argument("scenarios", nargs="*", help=f"subset of {SCENARIOS}")
    a = ap.parse_args(argv)
    if a.no_pin:
        import os

        os.environ["BENCH_PIN"] = "0"
    import signal

    # SIGTERM -> SystemExit so that scenarios' finally blocks stop their child processes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = a.scenarios or SCENARIOS
    rows: list[dict] = []
    statuses: dict[str, str] = {}
    t_all = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"benchmarks.{name}":
                statuses[name] = "not implemented"
                print(f"[{name}] NOT IMPLEMENTED (no module benchmarks/{name}.py)", flush=True)
                continue
            raise
        if not hasattr(mod, "run"):
            statuses[name] = "not implemented"
            print(f"[{name}] NOT IMPLEMENTED (module has no run())", flush=True)
            continue
        print(f"[{name}] running{' (quick)' if a.quick else ''} ...", flush=True)
        try:
            got = mod.run(a.quick)
            rows.extend(got)
            failed = [r for r in got if r.get("metric") == "delivery" and r.get("met") is False]
            statuses[name] = "FAILED (delivery)" if failed else "ok"
        except DeliveryError as e:
            statuses[name] = f"FAILED (delivery): {e}"
            rows.append(row(name, "-", "delivery", None, "", target="no loss/dup", met=False, note=str(e)))
        except Exception as e:  # noqa: BLE001 - report and continue with other scenarios
            traceback.print_exc()
            statuses[name] = f"ERROR: {type(e).__name__}: {e}"
        print(f"[{name}] {statuses[name]} in {time.monotonic() - t0:.1f}s", flush=True)
    print()
    print_table(rows)
    print()
    for name in names:
        print(f"  {name:10s} {statuses.get(name)}")
    path = write_json(rows, a.quick, statuses, __import__("pathlib").Path(a.json))
    print(f"\nwrote {path}  (total {time.monotonic() - t_all:.1f}s)")
    bad = [n for n, s in statuses.items() if s != "ok" and s != "not implemented"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
