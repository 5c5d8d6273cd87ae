"""Command line: ``python -m uqlab compare`` fits several methods and writes a calibration report;
``python -m uqlab report PATH`` re-renders the report of a saved comparison; ``python -m uqlab bench uci``
runs the UCI regression benchmark (:mod:`uqlab.bench`).

A user error (an unknown name, a bad value, an output folder that cannot be written, a damaged
saved comparison) ends with one ``error: ...`` line on stderr and exit status 2, never a traceback;
the output folder is checked before any fitting starts.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import sys


class UserError(Exception):
    """An error in what the user asked for: reported as one ``error:`` line, exit status 2."""

DEFAULT_METHODS = "nuts,ensemble,mc_dropout"


def _parser() -> argparse.ArgumentParser:
    from uqlab.inference.registry import method_names
    from uqlab.problems import problem_names

    parser = argparse.ArgumentParser(prog="python -m uqlab", description="uqlab: uncertainty quantification for scientific ML.")
    commands = parser.add_subparsers(dest="command", required=True)
    compare = commands.add_parser(
        "compare",
        help="fit several UQ methods to a problem and write an HTML calibration report",
        description="Fit several inference methods to one problem, print a method x metric table with "
        "fit times, and write a self-contained HTML calibration report.",
    )
    compare.add_argument("--problem", default="toy1d", help=f"problem name, one of {problem_names()} (default: toy1d)")
    compare.add_argument(
        "--methods", default=DEFAULT_METHODS, help=f"comma-separated method names from {method_names()} (default: {DEFAULT_METHODS})"
    )
    compare.add_argument("--seed", type=int, default=0, help="random seed for the methods (default: 0)")
    compare.add_argument("--seeds", type=int, default=1, help="number of seeds, seed .. seed+N-1, for error bars (default: 1)")
    compare.add_argument("--executor", default=None, choices=("local", "ray"),
                         help="run the (method, seed) fits as cells, in-process or as Ray tasks (default: a plain loop)")
    compare.add_argument("--address", default=None, help="Ray cluster to join with --executor ray (default: a local Ray)")
    compare.add_argument("--out", default="uqlab-out", help="output folder for the report (default: ./uqlab-out)")
    compare.add_argument("--quick", action="store_true", help="small data and short runs: a smoke test in about a minute")
    compare.add_argument("--full", action="store_true", help="paper-quality data sizes and runs (problems that have them; hours)")
    compare.add_argument("--no-progress", action="store_true", help="hide progress bars")
    report = commands.add_parser(
        "report",
        help="re-render the HTML report of a saved comparison",
        description="Re-render the HTML calibration report (and its JSON twin) of a comparison saved by "
        "`python -m uqlab compare` or Comparison.save(PATH).",
    )
    report.add_argument("path", help="folder of a saved comparison (holds table.csv, predictives.nc, meta.json)")
    report.add_argument("--out", default=None, help="HTML file to write (default: PATH/report-<problem>.html)")
    from uqlab.bench.cli import add_bench_parser

    add_bench_parser(commands)
    from uqlab.coverage import add_study_parser

    add_study_parser(commands, DEFAULT_METHODS)
    return parser


def main(argv=None) -> int:
    """Entry point of ``python -m uqlab`` and the ``uqlab`` script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "compare":
            return _compare(args)
        if args.command == "report":
            return _report(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "bench":
        from uqlab.bench.cli import bench

        return bench(args)
    if args.command == "study":
        from uqlab.coverage import study_cli

        return study_cli(args)
    return 2  # pragma: no cover - argparse requires a command


def _writable_folder(folder: pathlib.Path, option: str) -> None:
    """:func:`uqlab._io.check_writable_folder` as a :class:`UserError`."""
    from uqlab._io import check_writable_folder

    with _user_errors("", ValueError):
        check_writable_folder(folder, option)


@contextlib.contextmanager
def _user_errors(prefix: str, *kinds):
    """Turn the listed exception kinds into a :class:`UserError` (one ``error:`` line)."""
    try:
        yield
    except kinds as error:
        raise UserError(f"{prefix}{error}") from None


def _compare(args) -> int:
    import os

    from uqlab import problems
    from uqlab.diagnostics.report import write_report
    from uqlab.inference.registry import get_method
    from uqlab.study import compare

    if args.no_progress:
        os.environ["UQLAB_PROGRESS"] = "0"
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise UserError(f"--methods: expected comma-separated method names, got {args.methods!r}")
    if args.seeds < 1:
        raise UserError(f"--seeds: expected an integer >= 1, got {args.seeds}")
    for name in methods:
        with _user_errors("--methods: ", ValueError):
            try:
                get_method(name)
            except ValueError as error:
                raise ValueError(str(error).removeprefix("method: ")) from None
    try:
        problem = problems.load(args.problem, quick=args.quick, **({"full": True} if args.full else {}))
    except TypeError:
        if not args.full:
            raise
        raise UserError(f"--full: problem {args.problem!r} has no full setting") from None
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.address and args.executor != "ray":
        raise UserError("--address: only --executor ray takes it")
    out = pathlib.Path(args.out)
    _writable_folder(out, "--out")
    print(f"uqlab compare: problem {problem.name!r} ({problem.description}); methods {methods}", flush=True)
    try:
        comparison = compare(methods, problem=problem, seeds=range(args.seed, args.seed + args.seeds), quick=args.quick,
                             executor=args.executor, address=args.address)
    except ImportError as error:  # --executor ray without Ray
        raise UserError(str(error)) from None
    print(comparison.to_text())
    with _user_errors("--out: ", OSError):
        saved = comparison.save(out / f"comparison-{problem.name}")
        path = write_report(comparison, out / f"report-{problem.name}.html")
    print(f"report written to {path.resolve()} (JSON beside it); comparison saved to {saved.resolve()}")
    return 0


def _report(args) -> int:
    from uqlab.diagnostics.compare import load_comparison
    from uqlab.diagnostics.report import write_report

    with _user_errors("", ValueError, OSError):
        comparison = load_comparison(args.path)
    out = pathlib.Path(args.out) if args.out else pathlib.Path(args.path) / f"report-{comparison.problem}.html"
    _writable_folder(out.parent, "--out" if args.out else "path")
    with _user_errors("--out: ", OSError):
        path = write_report(comparison, out)
    print(f"report written to {path.resolve()} (JSON beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
