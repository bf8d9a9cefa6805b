"""Benchmark harness for pysignalr_server (not part of the test suite).

Run ``python -m benchmarks [--quick] [scenario ...]``. See ``benchmarks/common.py`` for the
scenario interface: each scenario module exposes ``run(quick: bool) -> list[dict]``.
"""
