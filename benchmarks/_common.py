"""Shared helpers for every benchmark script: JAX cache, timing, load average, tables, JSON output.

A benchmark script runs its contenders side by side in one process, times them with
:func:`timed` (or :func:`first_and_warm` to separate compilation), prints rows with
:func:`print_table` and writes them with :func:`save`, which records the machine and the load
average before and after the run (these machines are shared: report ratios, not absolute times).
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import sys
import time
from typing import Any, NamedTuple

RESULTS = pathlib.Path(os.environ.get("UQLAB_BENCHMARK_RESULTS", pathlib.Path(__file__).resolve().parent / "results"))
"""Where results go: ``benchmarks/results``, or ``$UQLAB_BENCHMARK_RESULTS`` (e.g. for a smoke run)."""


def setup_jax_cache() -> None:
    """Turn the persistent compilation cache on (same folder as the test suite)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(root / ".jax_cache"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("UQLAB_PROGRESS", "0")


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (``os.getloadavg()``); pass the one taken at the start
    of a run to :func:`save` as ``load_before``."""
    return os.getloadavg()


class Timed(NamedTuple):
    """What :func:`timed` measured: the call's result, its wall-clock and process CPU seconds."""

    value: Any
    seconds: float
    cpu_seconds: float


def _ready(value):
    """Wait for JAX's asynchronous dispatch (so the time covers the work), if JAX is in use."""
    if "jax" in sys.modules:
        import jax

        return jax.block_until_ready(value)
    return value


def timed(fn, *args, **kwargs) -> Timed:
    """Call ``fn(*args, **kwargs)`` once and time it (wall clock and process CPU time).

    JAX results are waited for (``jax.block_until_ready``) inside the timed interval.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    value = _ready(fn(*args, **kwargs))
    return Timed(value, time.perf_counter() - wall, time.process_time() - cpu)


def first_and_warm(fn, *args, **kwargs) -> tuple[Any, float, float]:
    """``(result, first-call seconds, second-call seconds)``: the first call includes compilation."""
    first = timed(fn, *args, **kwargs).seconds
    warm = timed(fn, *args, **kwargs)
    return warm.value, first, warm.seconds


def print_table(rows: list[dict], columns: list[str] | None = None) -> None:
    """Print dict rows as an aligned text table (``columns``: which keys, default all; a row
    without a key gets an empty cell)."""
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    cells = [[str(c) for c in columns]] + [[_fmt(row[c]) if c in row else "" for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def save(name: str, payload: dict, *, load_before: tuple | None = None) -> pathlib.Path:
    """Write ``payload`` plus machine info to ``benchmarks/results/<name>.json`` atomically.

    ``load_before``: :func:`load_average` taken when the run started; printed and saved with the
    load average now, since these 2-core machines are shared and timings move with the load.
    A ``"machine"`` entry of ``payload`` (e.g. the JAX backend) is merged into the machine info.
    """
    from uqlab._io import atomic_write
    from uqlab._version import stack_versions

    payload = dict(payload)
    machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
               "load_average_at_save": os.getloadavg(), "versions": stack_versions(), **payload.pop("machine", {})}
    if load_before is not None:
        print(f"load average (1, 5, 15 min) before {load_before}, after {os.getloadavg()} on {os.cpu_count()} cores")
        payload = {**payload, "load_average": {"before": load_before, "after": os.getloadavg()}}
    payload = {"machine": machine, **payload}
    path = RESULTS / f"{name}.json"
    with atomic_write(path) as handle:
        json.dump(payload, handle, indent=2, default=float)
    print(f"results written to {path}")
    return path


def save_entry(path: pathlib.Path, key: str, value) -> pathlib.Path:
    """Set ``key`` to ``value`` in the JSON object at ``path`` (kept entries stay), atomically.

    For scripts whose parts run separately and share one results file.
    """
    from uqlab._io import atomic_write

    path = pathlib.Path(path)
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = value
    with atomic_write(path) as handle:
        json.dump(results, handle, indent=1, default=float)
    return path
