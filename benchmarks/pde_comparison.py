"""Neural-PDE UQ comparison: HMC (NUTS), MC dropout and deep ensembles on Burgers and Navier-Stokes.

For each problem this fits the three methods at the default settings (``--quick`` or ``--full``
to change), and records the wall time, field metrics (RMSE, NLL, CRPS, coverage of 50/90/95%
intervals of the noise-free field), the over/under-confidence verdict and, for inverse problems,
the estimate of ``nu`` with its 95% interval and relative error. Results go to
``benchmarks/results/pde_comparison.json`` (merged per problem, written atomically).

Usage::

    python benchmarks/pde_comparison.py --problems burgers-inverse,burgers-forward
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "pde_comparison.json"
PROBLEMS = "burgers-inverse,burgers-forward,ns-inverse,ns-forward"


def run(problem: str, methods: list[str], *, quick: bool, full: bool) -> dict:
    """Compare ``methods`` on ``problem``; returns the JSON-ready record."""
    from uqlab import problems
    from uqlab.diagnostics.compare import compare
    from uqlab.problems.pde import coefficient_summary, confidence_summary

    start = time.perf_counter()
    spec = problems.load(problem, quick=quick, **({"full": True} if full else {}))
    comparison = compare(methods, problem=spec)
    wall = time.perf_counter() - start
    summary = comparison.summary()
    record = {
        "wall_seconds": wall,
        "mode": "quick" if quick else "full" if full else "default",
        "description": spec.description,
        "num_train": comparison.meta["num_train"],
        "num_test": comparison.meta["num_test"],
        "metrics": {m: {k: v[0] for k, v in cols.items()} for m, cols in summary.items()},
        "confidence": confidence_summary(comparison),
        "coefficient": coefficient_summary(comparison),
        "infos": comparison.infos,
    }
    print(comparison.to_text())
    print(json.dumps({k: record[k] for k in ("wall_seconds", "confidence", "coefficient")}, indent=1, default=float))
    return record


def main(argv=None) -> None:
    from uqlab._io import atomic_write

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--methods", default="nuts,ensemble,mc_dropout")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    for problem in args.problems.split(","):
        record = run(problem, args.methods.split(","), quick=args.quick, full=args.full)
        results = json.loads(out.read_text()) if out.exists() else {}
        results[problem] = record
        with atomic_write(out) as handle:
            json.dump(results, handle, indent=1, default=float)


if __name__ == "__main__":
    main()
