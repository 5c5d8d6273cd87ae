"""``python -m uqlab bench uci``: the UCI regression benchmark from the command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_bench_parser", "bench"]


def add_bench_parser(commands) -> None:
    """Add the ``bench`` subcommand (with its ``uci`` benchmark) to ``commands``, an argparse subparsers object."""
    from uqlab.bench.executors import EXECUTORS
    from uqlab.bench.uci import METHODS

    bench_parser = commands.add_parser("bench", help="run a published benchmark (UCI regression) over many cells, locally or on Ray")
    benchmarks = bench_parser.add_subparsers(dest="benchmark", required=True)
    uci = benchmarks.add_parser(
        "uci",
        help="UCI regression on the standard 20 splits, beside the published numbers",
        description="Fit each method on each split of each UCI dataset with the papers' protocols, one cell per "
        "(dataset, split, method), written as it finishes (rerun the same command to resume). Writes OUT/uci.json, "
        "OUT/uci-run.json, OUT/uci.html and prints a table beside the published numbers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    uci.add_argument("--data", required=True, help="a dataset folder in the UCI layout, or a folder of them")
    uci.add_argument("--datasets", default=None, help="comma-separated dataset (folder) names (default: all in --data)")
    uci.add_argument("--methods", default="mc_dropout,ensemble", help=f"comma-separated, from {list(METHODS)}")
    uci.add_argument("--splits", default=None, help="split indices such as 0-19, 0,3,5 or 0-4,10 (default: all)")
    uci.add_argument("--executor", default="local", choices=EXECUTORS, help="run cells in-process or as Ray tasks")
    uci.add_argument("--address", default=None, help="Ray cluster to join (default: start a local Ray)")
    uci.add_argument("--workers", type=int, default=None, help="CPUs of the local Ray (default: all)")
    uci.add_argument("--seed", type=int, default=0, help="base seed; split i uses key 1000 * seed + i")
    uci.add_argument("--out", default="uqlab-out", help="output folder")
    uci.add_argument("--quick", action="store_true", help="tiny settings: a smoke test, not benchmark numbers")
    uci.add_argument("--finished-only", action="store_true",
                     help="run nothing: summarise the cells of this grid already finished in OUT")
    uci.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def bench(args) -> int:
    """Run ``python -m uqlab bench uci`` from parsed ``args``; 0 on success, 2 on bad input."""
    from uqlab.bench.uci import run_uci, table

    def names(text):
        return None if text is None else [n.strip() for n in text.split(",") if n.strip()]

    if args.workers is not None and args.workers < 1:
        print(f"error: --workers: expected an integer >= 1, got {args.workers}", file=sys.stderr)
        return 2
    if args.executor == "local" and (args.address or args.workers):
        print("error: --address, --workers: only --executor ray takes them", file=sys.stderr)
        return 2
    try:
        summary = run_uci(args.data, datasets=names(args.datasets), methods=names(args.methods), splits=args.splits,
                          executor=args.executor, address=args.address, num_cpus=args.workers, out=args.out,
                          seed=args.seed, quick=args.quick, progress=False if args.no_progress else None,
                          finished_only=args.finished_only)
    except (ValueError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(summary))
    print(f"results in {args.out}/uci.json, page {args.out}/uci.html")
    return 0
