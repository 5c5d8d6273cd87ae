"""Shared helpers for benchmark scripts: JAX cache, result tables, atomic JSON output."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import sys

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def setup_jax_cache() -> None:
    """Turn the persistent compilation cache on (same folder as the test suite)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(root / ".jax_cache"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("UQLAB_PROGRESS", "0")


def print_table(rows: list[dict]) -> None:
    """Print dict rows as an aligned text table."""
    columns = list(rows[0])
    cells = [[str(c) for c in columns]] + [[_fmt(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def save(name: str, payload: dict, *, load_before: tuple | None = None) -> pathlib.Path:
    """Write ``payload`` plus machine info to ``benchmarks/results/<name>.json`` atomically.

    ``load_before``: ``os.getloadavg()`` taken when the run started; printed and saved with the
    load average now, since these 2-core machines are shared and timings move with the load.
    """
    from uqlab._io import atomic_write

    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
               "load_average_at_save": os.getloadavg()}
    if load_before is not None:
        print(f"load average (1, 5, 15 min) before {load_before}, after {os.getloadavg()} on {os.cpu_count()} cores")
        payload = {**payload, "load_average": {"before": load_before, "after": os.getloadavg()}}
    payload = {"machine": machine, **payload}
    path = RESULTS / f"{name}.json"
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=2, default=float)
    print(f"results written to {path}")
    return path
