"""Self-contained HTML calibration report for a :class:`~uqlab.diagnostics.compare.Comparison`.

One file (jinja2 template, figures embedded as base64 PNG, inline CSS, no network access), and a
JSON file beside it with the same numbers (:meth:`Report.to_dict`) for scripts and CI. Verdicts
follow :mod:`uqlab.diagnostics.verdicts` (convergence before calibration; observed targets and
the latent function kept apart); :mod:`uqlab.diagnostics.regions` says where a method is wrong.
In a notebook the report shows itself inline (``Report(comparison)`` as a cell's last line).
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import pathlib

import numpy as np

from uqlab._io import atomic_write
from uqlab._version import __version__
from uqlab.diagnostics import calibration, plots, regions, verdicts
from uqlab.diagnostics.metrics import metric, uncertainty_split
from uqlab.diagnostics.store import jsonable
from uqlab.info import SAMPLER_FIELDS

__all__ = ["Report", "write_report"]

_HALF_WIDTH = ("reliability", "coverage", "sharpness", "split")
"""Single-axes figures, laid out two per row."""

_SAMPLER_KEYS = (*SAMPLER_FIELDS, "num_gradient_evals")  # the typed fields of uqlab.info.FitInfo


def _goal(column: str) -> tuple[str | None, float | None]:
    if column.endswith("_seconds"):
        return "min", None
    spec, level = metric(column)
    return spec.goal, level


def _best(column: str, values: list[float]) -> int | None:
    """Index of the best value in ``column`` (None for descriptive columns or all-NaN)."""
    goal, level = _goal(column)
    values = np.asarray(values, dtype=float)
    if goal is None or np.all(np.isnan(values)):
        return None
    key = {"min": values, "max": -values, "level": np.abs(values - (level or 0.0))}[goal]
    return int(np.nanargmin(key))


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _method_diagnostics(pred, y) -> dict:
    levels, observed = calibration.coverage_curve(pred, y)
    expected, curve = calibration.calibration_curve(pred, y, num_levels=19)
    return {
        "miscalibration_area": calibration.miscalibration_area(pred, y),
        "calibration_error": calibration.calibration_error(pred, y),
        "ence": calibration.ence(pred, y),
        "pit_ks": calibration.pit_test(pred, y),
        "sharpness": float(np.sqrt(np.mean(pred.var))),
        "uncertainty_split": uncertainty_split(pred),
        "coverage_curve": {"levels": levels.tolist(), "observed": observed.tolist()},
        "calibration_curve": {"expected": expected.tolist(), "observed": curve.tolist()},
    }


class Report:
    """The calibration report of a comparison: :meth:`to_dict`, :meth:`to_html`, :meth:`write`."""

    def __init__(self, comparison):
        self.comparison = comparison
        data = comparison.data
        self.y = None if data is None or data.y_test is None else data.y_test
        self.diagnostics = {} if self.y is None else {
            name: _method_diagnostics(pred, self.y) for name, pred in comparison.predictives.items()
        }
        self.coefficients = verdicts.coefficients(comparison)
        self.verdicts = verdicts.method_verdicts(comparison, coefficient_table=self.coefficients)
        self.regions = None if self.y is None else regions.region_coverage(comparison)
        self.targets_latent = verdicts.targets_are_latent(comparison)

    def _meta(self) -> dict:
        meta = dict(self.comparison.meta)
        data = self.comparison.data
        if data is not None:
            meta.setdefault("num_train", len(data.x))
            meta.setdefault("num_test", None if data.x_test is None else len(data.x_test))
        meta.setdefault("date", datetime.datetime.now().isoformat(timespec="seconds"))
        meta.setdefault("versions", {})
        meta["versions"] = {"uqlab": __version__, **meta["versions"]}
        return meta

    def _sampler(self) -> dict:
        return {
            name: {k: info[k] for k in _SAMPLER_KEYS if k in info}
            for name, info in self.comparison.infos.items()
            if any(k in info for k in _SAMPLER_KEYS)
        }

    def to_dict(self) -> dict:
        """Every number in the report as plain JSON-able Python (NaN and inf become None)."""
        summary = self.comparison.summary()
        columns = [*self.comparison.metrics, "fit_seconds", "predict_seconds"]
        best = {c: _best(c, [summary[m][c][0] for m in summary]) for c in columns}
        out = {
            "problem": self.comparison.problem,
            "meta": self._meta(),
            "summary": {m: {c: {"mean": _finite(v[0]), "se": _finite(v[1])} for c, v in cols.items()} for m, cols in summary.items()},
            "best": {c: (None if i is None else list(summary)[i]) for c, i in best.items()},
            "diagnostics": self.diagnostics,
            "verdicts": self.verdicts,
            "coefficients": self.coefficients,
            "regions": self.regions,
            "sampler": self._sampler(),
            "sections": [s.get("title", "") for s in self.comparison.sections],
        }
        return json.loads(json.dumps(jsonable(out)), parse_constant=lambda _: None)

    def _table(self):
        summary = self.comparison.summary()
        columns = [*self.comparison.metrics, "fit_seconds"]
        best = {c: _best(c, [summary[m][c][0] for m in summary]) for c in columns}
        rows = []
        for i, (method, values) in enumerate(summary.items()):
            cells = []
            for column in columns:
                mean, se = values[column]
                text = f"{mean:.4g}" if np.isnan(se) else f"{mean:.4g} ± {se:.2g}"
                cells.append({"text": text, "best": best[column] == i})
            rows.append({"method": method, "cells": cells})
        return columns, rows

    @functools.cached_property
    def _figures(self) -> list[dict]:
        """The figures as base64 PNG, drawn once per Report (writing and displaying share them)."""
        comparison, y = self.comparison, self.y
        data, preds = comparison.data, comparison.predictives
        figures = []
        if data is not None and data.x_test is not None and data.x.shape[1] == 1 and data.y.shape[1] == 1:
            figures.append({"id": "bands", "title": "Predictive bands", "png": plots.predictive_bands(preds, data, comparison.truth),
                            "caption": "Predictive mean with central 50% and 90% intervals on the test inputs; dots are training data, the dashed line the true function."})
        if y is not None:
            figures += [
                {"id": "reliability", "title": "Reliability diagram", "png": plots.calibration_curves(preds, y),
                 "caption": "Observed fraction of test targets below each predicted quantile (miscalibration area in the legend). Below the diagonal in the upper half: intervals too narrow (over-confident); above: too wide."},
                {"id": "pit", "title": "PIT histograms", "png": plots.pit_histograms(preds, y),
                 "caption": "Histogram of F(y) over test targets: flat when calibrated, U-shaped when over-confident, hump-shaped when under-confident, tilted when biased."},
                {"id": "coverage", "title": "Coverage against nominal level", "png": plots.coverage_curves(preds, y),
                 "caption": "Fraction of test targets inside the central interval of each nominal level (0.05 to 0.99)."},
            ]
        figures += [
            {"id": "sharpness", "title": "Sharpness", "png": plots.sharpness_histograms(preds),
             "caption": "Distribution of the predictive standard deviation: sharper is better only when calibrated."},
            {"id": "split", "title": "Epistemic / aleatoric split", "png": plots.uncertainty_split(preds),
             "caption": "Law of total variance: variance of the member means (epistemic) plus mean member variance (aleatoric)."},
        ]
        for figure in figures:
            figure["half"] = figure["id"] in _HALF_WIDTH
            figure["png"] = plots.figure_to_base64(figure["png"])
        return figures

    @functools.cached_property
    def _region_png(self) -> str | None:
        if not (self.regions and self.regions["regions"]):
            return None
        return plots.figure_to_base64(plots.region_coverage(self.regions))

    def to_html(self, *, fragment: bool = False) -> str:
        """The report as one self-contained HTML string (``fragment``: without the html/head/body
        wrapper, for embedding; its styles are scoped to the report)."""
        import jinja2

        env = jinja2.Environment(loader=jinja2.PackageLoader("uqlab.diagnostics", "templates"),
                                 autoescape=jinja2.select_autoescape(["html"]))
        columns, table = self._table()
        sampler = self._sampler()
        meta = self._meta()
        return env.get_template("report.html").render(
            problem=self.comparison.problem, meta=meta, columns=columns, table=table,
            diagnostics=self.diagnostics, sampler=sampler, status=verdicts.cell_status,
            sampler_columns=[k for k in _SAMPLER_KEYS if any(k in v for v in sampler.values())],
            verdicts=self.verdicts, coefficients=self.coefficients, regions=self.regions, region_png=self._region_png,
            targets_latent=self.targets_latent, thresholds=verdicts,
            figures=self._figures, sections=self.comparison.sections, fragment=fragment,
        )

    def _repr_html_(self) -> str:
        """Notebook display: the whole report inline (styles scoped to the report's own block)."""
        return self.to_html(fragment=True)

    def write(self, path) -> pathlib.Path:
        """Write the HTML to ``path`` and the JSON to ``path`` with suffix ``.json`` (atomically)."""
        path = pathlib.Path(path)
        html = self.to_html()
        with atomic_write(path.with_suffix(".json"), encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=1)
        with atomic_write(path, encoding="utf-8") as handle:
            handle.write(html)
        return path


def write_report(comparison, path) -> pathlib.Path:
    """Write the HTML report and its JSON twin (``.json`` beside it); returns the HTML path."""
    return Report(comparison).write(path)
