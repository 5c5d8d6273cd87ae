"""Repeated-data coverage of an inverse problem's coefficients: is each method's interval calibrated?

One posterior interval covering the truth says little; over ``R`` replicates of the data (the
observation noise redrawn, the design kept: ``problems.load(name, noise_seed=r)``) a calibrated
method's central 95% intervals cover the true coefficient in about 95% of them. This module fits
every method on every replicate, records each interval, and reports per method and coefficient
the fraction that covered with a Clopper-Pearson (exact binomial) confidence interval for the
true coverage probability. Results are saved after every replicate (JSON, atomically), so a long
study can be stopped and resumed.

Reference:
    Clopper, Pearson (1934). The use of confidence or fiducial limits illustrated in the case of
    the binomial. Biometrika 26(4), 404-413.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import pathlib
import time

import numpy as np

__all__ = ["coverage_study", "summarize", "to_text", "to_html", "write_text", "add_study_parser", "study_cli"]


def write_text(path, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` atomically (parent folders created)."""
    from uqlab._io import atomic_write

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write(text)
    return path


def coverage_study(problem: str, methods, *, replicates: int = 20, quick: bool = False, level: float = 0.95,
                   out=None, seed: int = 0, settings: dict | None = None, progress=print) -> dict:
    """Fit ``methods`` on ``replicates`` noise redraws of ``problem`` and record each coefficient interval.

    Args:
        problem: a registered inverse problem that takes ``noise_seed`` (``burgers-inverse``,
            ``ns-inverse``, ``diffusion-reaction-inverse``).
        methods: method names (each takes the problem's settings).
        replicates: R, the number of data replicates (noise seeds ``seed .. seed + R - 1``; the
            method key of replicate ``r`` is its noise seed too).
        quick: the problem's quick settings.
        level: nominal level of the central intervals.
        out: JSON file to write after every replicate and to resume from (None: none).
        seed: first noise seed.
        settings: per method name, settings that override the problem's (e.g. shorter runs).
        progress: called with a line after each fit (None: silent).

    Returns:
        ``{"problem", "quick", "level", "methods", "replicates": [{"noise_seed", method: {name:
        {mean, lower, upper, truth, covers, rhat, ess_bulk, fit_seconds}}}], "summary"}``.
    """
    from uqlab import problems
    from uqlab._validate import check_positive_int, check_probability
    from uqlab.problems.pde import coefficient_summary

    check_positive_int("replicates", replicates)
    check_probability("level", level)
    methods = list(methods)
    path = None if out is None else pathlib.Path(out)
    state = {"problem": problem, "quick": quick, "level": level, "methods": methods, "replicates": []}
    if path is not None and path.exists():
        saved = json.loads(path.read_text())
        if all(saved.get(k) == state[k] for k in ("problem", "quick", "level", "methods")):
            state["replicates"] = saved["replicates"]
    done = {r["noise_seed"] for r in state["replicates"]}
    for noise_seed in range(seed, seed + replicates):
        if noise_seed in done:
            continue
        instance = problems.load(problem, quick=quick, noise_seed=noise_seed)
        if not instance.quantities:
            raise ValueError(f"problem: expected an inverse problem with inferred quantities, got {problem!r}")
        row = {"noise_seed": noise_seed}
        for name in methods:
            method = instance.method(name, **(settings or {}).get(name, {}))
            start = time.perf_counter()
            posterior = method.fit(instance.model_for(name), instance.data, key=noise_seed)
            seconds = time.perf_counter() - start
            fitted = _Fitted({name: {q: posterior.quantity(q) for q in instance.quantities}},
                             {name: {"num_chains": getattr(posterior, "num_chains", 1)}}, instance.truth)
            rows = coefficient_summary(fitted, level)[name]
            row[name] = {q: {k: r[k] for k in ("mean", "lower", "upper", "truth", "covers", "rhat", "ess_bulk")}
                         | {"fit_seconds": seconds} for q, r in rows.items()}
            if progress is not None:
                progress(f"replicate {noise_seed}: {name} " + ", ".join(
                    f"{q} {r['mean']:.4g} [{r['lower']:.4g}, {r['upper']:.4g}] covers={r['covers']}" for q, r in rows.items()
                ) + f" ({seconds:.0f} s)")
        state["replicates"].append(row)
        state["summary"] = summarize(state)
        state["date"] = datetime.datetime.now().isoformat(timespec="seconds")
        state["loadavg"] = list(os.getloadavg())
        if path is not None:
            write_text(path, json.dumps(state, indent=1))
    state["summary"] = summarize(state)
    return state


class _Fitted:
    """The parts of a Comparison that the coefficient summary reads."""

    def __init__(self, quantities, infos, truth):
        self.quantities, self.infos, self.truth = quantities, infos, truth


def summarize(state: dict) -> dict:
    """Per method and coefficient: replicates, covered, fraction, Clopper-Pearson 95% interval of the
    coverage probability, mean relative error and mean interval width over the replicates."""
    from scipy.stats import binomtest

    out = {}
    for method in state["methods"]:
        rows = [r[method] for r in state["replicates"] if method in r]
        out[method] = {}
        for name in (rows[0] if rows else {}):
            cells = [r[name] for r in rows if r[name]["covers"] is not None]
            n, k = len(cells), sum(c["covers"] for c in cells)
            ci = binomtest(k, n).proportion_ci(0.95, method="exact") if n else None
            out[method][name] = {
                "replicates": n, "covered": k, "coverage": k / n if n else None,
                "ci_low": None if ci is None else float(ci.low), "ci_high": None if ci is None else float(ci.high),
                "mean_relative_error": float(np.mean([abs(c["mean"] - c["truth"]) / abs(c["truth"]) for c in cells])) if n else None,
                "mean_width": float(np.mean([c["upper"] - c["lower"] for c in cells])) if n else None,
                "mean_fit_seconds": float(np.mean([c["fit_seconds"] for c in cells])) if n else None,
            }
    return out


def _rows(state: dict) -> list[list[str]]:
    fmt = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    return [
        [method, name, f"{s['covered']}/{s['replicates']}", fmt(s["coverage"], ".2f"),
         f"[{fmt(s['ci_low'], '.2f')}, {fmt(s['ci_high'], '.2f')}]", fmt(s["mean_relative_error"], ".1%"),
         fmt(s["mean_width"], ".3g"), fmt(s["mean_fit_seconds"], ".0f")]
        for method, names in state["summary"].items() for name, s in names.items()
    ]


_HEADER = ["method", "coefficient", "covered", "coverage", "95% CI (Clopper-Pearson)", "mean |rel. error|",
           "mean interval width", "mean fit s"]


def to_text(state: dict) -> str:
    """A plain-text table of :func:`summarize`."""
    rows = [_HEADER, *_rows(state)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def to_html(state: dict) -> str:
    """A self-contained HTML page with the coverage table."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADER)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in _rows(state))
    title = (f"Repeated-data coverage: {state['problem']}{' (quick)' if state['quick'] else ''}, "
             f"{len(state['replicates'])} replicates, nominal {state['level']:.0%}")
    note = ("Each replicate redraws the observation noise (same design) and fits every method; a calibrated "
            f"method's central {state['level']:.0%} intervals cover the true coefficient in about "
            f"{state['level']:.0%} of replicates. The CI is an exact binomial (Clopper-Pearson) 95% interval "
            "for the coverage probability.")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd}"
            "th{text-align:left}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(note)}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></body></html>")


def add_study_parser(commands, default_methods: str) -> None:
    """Add ``study coverage`` to the ``python -m uqlab`` sub-commands."""
    study = commands.add_parser("study", help="studies over repeated data (coverage of inverse-problem coefficients)")
    coverage = study.add_subparsers(dest="study", required=True).add_parser(
        "coverage",
        help="fraction of intervals that cover the true coefficient over noise redraws, per method",
        description="Redraw the observation noise R times, fit every method on each replicate, and report per "
        "method the fraction of central 95%% intervals that cover the true coefficient, with a Clopper-Pearson "
        "interval (JSON, text and HTML tables; resumes from its JSON).",
    )
    coverage.add_argument("--problem", default="burgers-inverse", help="an inverse problem (default: burgers-inverse)")
    coverage.add_argument("--methods", default=default_methods, help=f"comma-separated method names (default: {default_methods})")
    coverage.add_argument("--replicates", type=int, default=20, help="number of noise redraws R (default: 20)")
    coverage.add_argument("--seed", type=int, default=0, help="first noise seed (default: 0)")
    coverage.add_argument("--quick", action="store_true", help="the problem's quick settings")
    coverage.add_argument("--out", default="uqlab-out", help="output folder (default: ./uqlab-out)")


def study_cli(args) -> int:
    """Run ``python -m uqlab study coverage`` from parsed arguments; returns the exit status."""
    import sys

    from uqlab.inference.registry import get_method
    from uqlab.problems import problem_names

    os.environ.setdefault("UQLAB_PROGRESS", "0")
    from uqlab._io import check_writable_folder

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        if not methods:
            raise ValueError(f"--methods: expected comma-separated method names, got {args.methods!r}")
        for name in methods:
            get_method(name)
        if args.problem not in problem_names():
            raise ValueError(f"--problem: expected one of {problem_names()}, got {args.problem!r}")
        if args.replicates < 1:
            raise ValueError(f"--replicates: expected an integer >= 1, got {args.replicates}")
        check_writable_folder(args.out, "--out")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stem = pathlib.Path(args.out) / f"coverage-{args.problem}{'-quick' if args.quick else ''}"
    try:
        state = coverage_study(args.problem, methods, replicates=args.replicates, quick=args.quick,
                           seed=args.seed, out=stem.with_suffix(".json"), progress=lambda line: print(line, flush=True))
    except (TypeError, ValueError) as error:  # a problem without noise_seed or quantities
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(to_text(state))
    write_text(stem.with_suffix(".html"), to_html(state))
    print(f"coverage table written to {stem.with_suffix('.json').resolve()} and {stem.with_suffix('.html').resolve()}")
    return 0
