"""Fit several inference methods on one problem and score their Predictives side by side.

This is the one place that both fits methods (:mod:`uqlab.inference`) on a problem
(:mod:`uqlab.problems`) and scores them (:mod:`uqlab.diagnostics`); the diagnostics only ever see
the Predictives and the scalar info it hands them, in a
:class:`~uqlab.diagnostics.compare.Comparison`.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import time

import numpy as np

from uqlab.diagnostics.compare import Comparison
from uqlab.diagnostics.metrics import DEFAULT_METRICS, evaluate
from uqlab.predictive import Predictive

__all__ = ["compare"]


def _versions() -> dict[str, str]:
    """Installed versions of the numerical stack (read from metadata; nothing is imported)."""
    out = {}
    for name in ("numpy", "scipy", "jax", "numpyro", "blackjax", "torch", "arviz"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def compare(methods, model=None, problem="toy1d", *, seeds=(0,), metrics=DEFAULT_METRICS, quick=False) -> Comparison:
    """Fit each method for each seed and score its test-set Predictive.

    Args:
        methods: method names or Method instances; names take the problem's settings.
        model: the model to fit (None: the problem's default model for each method, see
            :meth:`~uqlab.problems.Problem.model_for`), or a dict from method name
            to model for methods that need their own (a GP for ``"gp"``, ``"gp_nuts"`` and
            ``"svgp"``, a dropout net for ``"mc_dropout"``); methods missing from the dict get the
            problem's default model.
        problem: a problem name or a :class:`~uqlab.problems.Problem`.
        seeds: one fit per seed (the data stay fixed; the seed drives the method).
        metrics: metric names (see :func:`~uqlab.diagnostics.metrics.evaluate`).
        quick: when ``problem`` is a name, load its quick variant.

    Returns:
        A :class:`~uqlab.diagnostics.compare.Comparison`.
    """
    from uqlab import problems
    from uqlab.inference.registry import make_method

    if isinstance(problem, str):
        problem = problems.load(problem, quick=quick)
    data = problem.data
    if data.x_test is None:
        raise ValueError(f"problem: {problem.name!r} has no test split to score on")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    evaluate(Predictive(data.y_test[None]), data.y_test, metrics)  # validates metric names early
    methods = [problem.method(m) if isinstance(m, str) else make_method(m) for m in methods]
    names = [method.name for method in methods]
    if len(set(names)) < len(names):
        raise ValueError(f"methods: each method must appear once (rows and Predictives are keyed by name), got {names}")
    given = dict(model) if isinstance(model, dict) else {}
    if model is None or isinstance(model, dict):
        models = {name: given[name] if name in given else problem.model_for(name) for name in names}
    else:
        models = dict.fromkeys(names, model)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"model: dict keys must be names of the compared methods {names}, got {unknown}")
    rows, predictives, infos, quantities = [], {}, {}, {}
    for method in methods:
        for seed in seeds:
            start = time.perf_counter()
            posterior = method.fit(models[method.name], data, key=seed)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            predictive = posterior.predict(data.x_test)
            predict_seconds = time.perf_counter() - start
            scores = evaluate(predictive, data.y_test, metrics)
            rows.append({"method": method.name, "seed": seed, **scores, "fit_seconds": fit_seconds, "predict_seconds": predict_seconds})
            if method.name not in predictives:
                predictives[method.name] = predictive
                infos[method.name] = {k: v for k, v in posterior.info.items() if np.isscalar(v)}
                quantities[method.name] = {q: posterior.quantity(q) for q in problem.quantities}
    meta = {"seeds": seeds, "quick": quick, "num_train": data.num_points, "num_test": len(data.x_test),
            "description": problem.description, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "versions": _versions()}
    comparison = Comparison(problem.name, rows, predictives, infos, tuple(metrics), quantities, data, dict(problem.truth), meta)
    comparison.sections = problem.report_sections(comparison) if problem.report_sections else []
    return comparison
