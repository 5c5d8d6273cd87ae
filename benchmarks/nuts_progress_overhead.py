"""Multi-chain NUTS with the progress bar on against off, measured side by side in one run.

Four chains of NUTS (``uqlab.inference.nuts.NUTS``) on a small tanh BNN; the bar is updated
between ``lax.scan`` chunks, so its cost should be the per-chunk host round trip only (target
overhead <= 10%). Runs alternate in ABBA order (off/on, on/off, ...) after a compile warm-up; the
table reports the median sampler wall time (``info["fit_seconds"]``) of each, the ratio of the
medians and the median ratio of the back-to-back pairs (less sensitive to a drifting load).

Usage: ``python benchmarks/nuts_progress_overhead.py [--repeats 3 --warmup 200 --samples 200]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics

from _common import load_average, save, setup_jax_cache


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--width", type=int, default=20)
    args = parser.parse_args()
    setup_jax_cache()
    load_before = load_average()

    import numpy as np

    import uqlab
    from uqlab.inference.nuts import NUTS
    from uqlab.models import BayesianMLP

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (args.points, 1))
    data = uqlab.Dataset(x, np.sin(2 * x) + 0.1 * rng.standard_normal(x.shape))
    model = BayesianMLP(widths=(args.width,))
    method = NUTS(num_warmup=args.warmup, num_samples=args.samples, num_chains=4, max_tree_depth=8)

    def seconds(progress: bool) -> float:
        with contextlib.redirect_stderr(io.StringIO()):  # the bar is drawn, into a buffer
            post = method.replace(progress=progress).fit(model, data, key=0)
        return post.info["fit_seconds"]

    seconds(False)  # compile once (both settings share the compiled chunks)
    times = {"off": [], "on": []}
    for repeat in range(args.repeats):
        # ABBA order: a load that drifts during the run does not always hit the same setting second
        for label in ("off", "on") if repeat % 2 == 0 else ("on", "off"):
            times[label].append(seconds(label == "on"))
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    paired = statistics.median(b / a - 1 for a, b in zip(times["off"], times["on"]))
    rows = [
        {"progress": "off", "median_s": off, "runs_s": times["off"]},
        {"progress": "on", "median_s": on, "runs_s": times["on"]},
    ]
    print(f"NUTS, 4 chains, BNN 1-{args.width}-1 on {args.points} points, {args.warmup}+{args.samples} steps")
    for row in rows:
        print(f"  bar {row['progress']:>3}: median {row['median_s']:.2f} s  runs {[round(t, 2) for t in row['runs_s']]}")
    print(f"  overhead (on / off - 1): {100 * (on / off - 1):+.1f}% of medians, {100 * paired:+.1f}% median of "
          "pairs run back to back  (target <= 10%)")
    save("nuts_progress_overhead", {
        "settings": vars(args), "rows": rows, "overhead_fraction": on / off - 1, "paired_overhead_fraction": paired,
    }, load_before=load_before)


if __name__ == "__main__":
    main()
