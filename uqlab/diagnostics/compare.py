"""Side-by-side comparison of inference methods on one problem, judged only by their Predictives."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import time

import numpy as np

from uqlab.diagnostics.metrics import DEFAULT_METRICS, evaluate
from uqlab.predictive import Predictive

__all__ = ["Comparison", "compare"]


@dataclasses.dataclass
class Comparison:
    """Results of :func:`compare`.

    Attributes:
        problem: the problem name.
        rows: one dict per (method, seed): metric values, ``fit_seconds``, ``predict_seconds``.
        predictives: per method, the test-set Predictive of the first seed.
        infos: per method, the scalar entries of the first seed's ``posterior.info``.
        quantities: per method, ``{name: Predictive}`` of the problem's quantities (first seed).
        metrics: the metric names, in column order.
        data: the dataset (for plots of predictions against data).
        truth: the problem's known true values.
        meta: run metadata (seeds, quick mode, data sizes).
        sections: extra report sections from the problem (see ``Problem.report_sections``).
    """

    problem: str
    rows: list[dict]
    predictives: dict[str, Predictive]
    infos: dict[str, dict]
    metrics: tuple[str, ...]
    quantities: dict[str, dict] = dataclasses.field(default_factory=dict)
    data: object = None
    truth: dict = dataclasses.field(default_factory=dict)
    meta: dict = dataclasses.field(default_factory=dict)
    sections: list = dataclasses.field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        """Method names in the order they were run."""
        return list(dict.fromkeys(row["method"] for row in self.rows))

    def summary(self) -> dict[str, dict[str, tuple[float, float]]]:
        """Per method and column: (mean, standard error over seeds; NaN with one seed)."""
        columns = [*self.metrics, "fit_seconds", "predict_seconds"]
        out = {}
        for method in self.methods:
            values = np.array([[row[c] for c in columns] for row in self.rows if row["method"] == method])
            se = values.std(axis=0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.full(len(columns), np.nan)
            out[method] = {c: (float(m), float(s)) for c, m, s in zip(columns, values.mean(axis=0), se)}
        return out

    def save(self, path):
        """Save to the folder ``path`` (CSV table, netCDF Predictives, JSON metadata); returns it."""
        from uqlab.diagnostics.store import save_comparison

        return save_comparison(self, path)

    @classmethod
    def load(cls, path) -> Comparison:
        """Load a comparison written by :meth:`save`."""
        from uqlab.diagnostics.store import load_comparison

        return load_comparison(path)

    def to_text(self) -> str:
        """A plain-text method x metric table (mean ± s.e. over seeds)."""
        summary = self.summary()
        columns = [*self.metrics, "fit_seconds"]
        header = ["method", *columns]
        lines = [header]
        for method, values in summary.items():
            cells = [method]
            for column in columns:
                mean, se = values[column]
                cells.append(f"{mean:.3f}" if np.isnan(se) else f"{mean:.3f}±{se:.3f}")
            lines.append(cells)
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in lines)


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
        A :class:`Comparison`.
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
