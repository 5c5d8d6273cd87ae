"""All regression metrics on 100,000 targets x 100 Gaussian-mixture members: time and peak memory.

Run: ``nice python benchmarks/metrics_scale.py [--points N] [--members S]``; writes
``benchmarks/results/metrics_scale.json`` (atomically) and prints a table. Targets: < 10 s total and
< 2 GB peak resident memory. Each metric is timed on its own (wall and process CPU time: the box is
shared, so the load average before and after is recorded too). The exact mixture CRPS costs
S(S-1)/2 pair terms per point (quadratic in S); the quantile metrics share one Newton solve.

Side by side on a subset of points, in the same run: the float32 CRPS against a float64 all-pairs
sum with ``scipy.special.ndtr`` (the straightforward implementation), and the float32 ``fast``
quantiles against the float64-polished ones: time ratios and the largest relative differences.
"""

from __future__ import annotations

import argparse
import os
import resource

import numpy as np
from _common import load_average, print_table, save, timed

from uqlab import Predictive
from uqlab.diagnostics import calibration
from uqlab.diagnostics.metrics import REGRESSION_METRICS, _expected_abs_normal, crps_values, evaluate


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _crps_float64_reference(pred: Predictive, y: np.ndarray) -> np.ndarray:
    """The straightforward exact CRPS: float64, scipy's normal CDF, all pairs i < j."""
    s = pred.num_members
    loc, var = pred.loc.reshape(s, -1), (pred.scale**2).reshape(s, -1)
    first = np.mean(_expected_abs_normal(loc - y.reshape(1, -1), var), axis=0)
    pairs = 2.0 * np.sum(pred.scale.reshape(s, -1), axis=0) / np.sqrt(np.pi)
    for i in range(s - 1):
        pairs += 2.0 * np.sum(_expected_abs_normal(loc[i + 1:] - loc[i], var[i + 1:] + var[i]), axis=0)
    return first - 0.5 * pairs / s**2


def side_by_side(pred: Predictive, y: np.ndarray, points: int) -> dict:
    sub, y_sub = pred[:points], y[:points]
    reference, ref_wall, _ = timed(_crps_float64_reference, sub, y_sub)
    fast, fast_wall, _ = timed(lambda: crps_values(Predictive(sub.loc, sub.scale), y_sub)[:, 0])
    levels = np.array([0.05, 0.5, 0.95])
    exact_q, exact_wall, _ = timed(sub.quantile, levels)
    fast_q, fast_q_wall, _ = timed(lambda: Predictive(sub.loc, sub.scale).quantile(levels, fast=True))
    return {
        "points": points,
        "crps_float64_reference_seconds": ref_wall, "crps_seconds": fast_wall, "crps_speedup": ref_wall / fast_wall,
        "crps_max_relative_difference": float(np.max(np.abs(fast - reference) / reference)),
        "quantile_float64_seconds": exact_wall, "quantile_fast_seconds": fast_q_wall,
        "quantile_speedup": exact_wall / fast_q_wall,
        "quantile_fast_max_cdf_error": float(max(np.max(np.abs(sub.cdf(x) - q)) for q, x in zip(levels, fast_q))),
        "quantile_max_difference_in_std": float(np.max(np.abs(fast_q - exact_q) / sub.std)),
    }


def main(points: int, members: int, subset: int) -> dict:
    rng = np.random.default_rng(0)
    pred = Predictive(rng.normal(size=(members, points, 1)), rng.uniform(0.3, 1.0, (members, points, 1)))
    y = pred.sample(1, rng=rng)[0]
    names = [m.alias for m in REGRESSION_METRICS.values()] + ["coverage@0.5", "coverage@0.95"]
    baseline = _peak_rss_mb()
    load_before = load_average()
    wall, cpu = {}, {}

    def every_metric():
        for name in names:
            _, wall[name], cpu[name] = timed(evaluate, pred, y, [name])
        _, wall["verdict+coverage_curve"], cpu["verdict+coverage_curve"] = timed(
            lambda: (calibration.verdict(pred, y), calibration.coverage_curve(pred, y)))

    _, total_wall, total_cpu = timed(every_metric)
    peak = _peak_rss_mb()
    result = {
        "points": points, "members": members, "total_seconds": total_wall, "total_cpu_seconds": total_cpu,
        "seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak, "rss_before_metrics_mb": baseline,
        "side_by_side": side_by_side(pred, y, subset),
    }
    save("metrics_scale", {**result, "machine": {"nice": os.nice(0)}}, load_before=load_before)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--subset", type=int, default=2_000, help="points for the side-by-side reference timings")
    args = parser.parse_args()
    out = main(args.points, args.members, args.subset)
    rows = [{"metric": name, "wall_s": seconds, "cpu_s": out["cpu_seconds"][name]}
            for name, seconds in sorted(out["seconds"].items(), key=lambda kv: -kv[1]) if seconds >= 0.005]
    print_table([*rows, {"metric": "total", "wall_s": out["total_seconds"], "cpu_s": out["total_cpu_seconds"]}])
    print(f"peak RSS {out['peak_rss_mb']:.0f} MB (inputs and interpreter {out['rss_before_metrics_mb']:.0f} MB)")
    side = out["side_by_side"]
    print(f"side by side on {side['points']} points: CRPS {side['crps_speedup']:.1f}x faster than float64 all-pairs "
          f"(max rel. difference {side['crps_max_relative_difference']:.1e}); fast quantiles {side['quantile_speedup']:.1f}x "
          f"faster than float64-polished (max |F(x)-q| {side['quantile_fast_max_cdf_error']:.1e})")
