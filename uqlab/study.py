"""Fit several inference methods on one problem and score their Predictives side by side.

This is the one place that both fits methods (:mod:`uqlab.inference`) on a problem
(:mod:`uqlab.problems`) and scores them (:mod:`uqlab.diagnostics`); the diagnostics only ever see
the Predictives and the scalar info it hands them, in a
:class:`~uqlab.diagnostics.compare.Comparison`.
"""

from __future__ import annotations

import datetime
import time

import numpy as np

from uqlab._version import stack_versions
from uqlab.diagnostics.compare import Comparison
from uqlab.diagnostics.metrics import DEFAULT_METRICS, evaluate
from uqlab.predictive import Predictive

__all__ = ["compare", "fit_and_score"]


def compare(methods, model=None, problem="toy1d", *, seeds=(0,), metrics=DEFAULT_METRICS, quick=False,
            executor: str | None = None, address: str | None = None, num_cpus: int | None = None) -> Comparison:
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
        executor: None fits in this process; "local" or "ray" runs each (method, seed) fit as a
            cell of :func:`uqlab.bench.run_cells` (Ray: one task per fit, with ``address`` and
            ``num_cpus`` as there). Same seeds, same numbers.

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
    jobs = [{"problem": problem, "method": method, "model": models[method.name], "seed": seed, "metrics": tuple(metrics)}
            for method in methods for seed in seeds]
    if executor is None:
        outcomes = [fit_and_score(**job) for job in jobs]
    else:
        from uqlab.bench import Cell, run_cells

        cells = [Cell(f"{job['method'].name}/seed-{job['seed']}", "uqlab.study:fit_and_score", job) for job in jobs]
        records = run_cells(cells, executor=executor, address=address, num_cpus=num_cpus, desc="compare fits")
        outcomes = [records[cell.name]["result"] for cell in cells]
    rows, predictives, infos, quantities = [], {}, {}, {}
    for outcome in outcomes:
        rows.append(outcome["row"])
        name = outcome["row"]["method"]
        if name not in predictives:
            predictives[name], infos[name], quantities[name] = outcome["predictive"], outcome["info"], outcome["quantities"]
    meta = {"seeds": seeds, "quick": quick, "num_train": data.num_points, "num_test": len(data.x_test),
            "description": problem.description, "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "versions": stack_versions()}
    comparison = Comparison(problem.name, rows, predictives, infos, tuple(metrics), quantities, data, dict(problem.truth), meta)
    comparison.sections = problem.report_sections(comparison) if problem.report_sections else []
    return comparison


def fit_and_score(problem, method, model, seed: int, metrics) -> dict:
    """Fit ``method`` with key ``seed`` and score its test-set Predictive: one cell of :func:`compare`.

    Returns:
        ``{"row", "predictive", "info", "quantities"}``: the table row (scores and timings), the
        Predictive, the scalar info entries and the Predictives of the problem's quantities.
    """
    data = problem.data
    start = time.perf_counter()
    posterior = method.fit(model, data, key=seed)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictive = posterior.predict(data.x_test)
    predict_seconds = time.perf_counter() - start
    scores = evaluate(predictive, data.y_test, metrics)
    row = {"method": method.name, "seed": seed, **scores, "fit_seconds": fit_seconds, "predict_seconds": predict_seconds}
    info = {k: v for k, v in posterior.info.items() if np.isscalar(v)}
    info.setdefault("num_chains", getattr(posterior, "num_chains", 1))  # the report's R-hat/ESS of quantities need it
    return {"row": row, "predictive": predictive, "info": info,
            "quantities": {q: posterior.quantity(q) for q in problem.quantities}}
