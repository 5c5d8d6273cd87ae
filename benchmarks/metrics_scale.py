"""All regression metrics on 100,000 targets x 100 Gaussian-mixture members: time and peak memory.

Run: ``python benchmarks/metrics_scale.py [--points N] [--members S]``; writes
``benchmarks/results/metrics_scale.json`` (atomically) and prints a table. Targets: < 10 s total and
< 2 GB peak resident memory. Each metric is timed on its own; the exact mixture CRPS costs
S(S-1)/2 pair terms per point (quadratic in S), the interval metrics a Newton quantile solve.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import time

import numpy as np

from uqlab import Predictive
from uqlab._io import atomic_write
from uqlab.diagnostics import calibration
from uqlab.diagnostics.metrics import REGRESSION_METRICS, evaluate

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "metrics_scale.json"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(points: int, members: int) -> dict:
    rng = np.random.default_rng(0)
    pred = Predictive(rng.normal(size=(members, points, 1)), rng.uniform(0.3, 1.0, (members, points, 1)))
    y = pred.sample(1, rng=rng)[0]
    names = [m.alias for m in REGRESSION_METRICS.values()] + ["coverage@0.5", "coverage@0.95"]
    baseline = _peak_rss_mb()
    load = os.getloadavg()[0]  # the box is shared: record how busy it was
    timings = {}
    start_all = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        evaluate(pred, y, [name])
        timings[name] = time.perf_counter() - start
    start = time.perf_counter()
    calibration.verdict(pred, y)
    calibration.coverage_curve(pred, y)
    timings["verdict+coverage_curve"] = time.perf_counter() - start
    total = time.perf_counter() - start_all
    result = {
        "points": points, "members": members, "total_seconds": total, "seconds": timings,
        "peak_rss_mb": _peak_rss_mb(), "rss_before_metrics_mb": baseline,
        "machine": {"python": platform.python_version(), "processor": platform.machine(), "numpy": np.__version__,
                    "cpus": os.cpu_count(), "load_average_1min_before": load},
    }
    with atomic_write(RESULTS, encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=100)
    args = parser.parse_args()
    out = main(args.points, args.members)
    for name, seconds in sorted(out["seconds"].items(), key=lambda kv: -kv[1]):
        print(f"{name:28s} {seconds:8.2f} s")
    print(f"{'total':28s} {out['total_seconds']:8.2f} s; peak RSS {out['peak_rss_mb']:.0f} MB "
          f"(inputs and interpreter {out['rss_before_metrics_mb']:.0f} MB)")
