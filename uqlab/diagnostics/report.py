"""Self-contained HTML calibration report for a :class:`~uqlab.diagnostics.compare.Comparison`.

One file (jinja2 template, figures embedded as base64 PNG, inline CSS, no network access).
"""

from __future__ import annotations

import datetime
import pathlib

import numpy as np

from uqlab._io import atomic_write
from uqlab.diagnostics import plots

__all__ = ["render_report", "write_report"]

_SAMPLER_KEYS = ("acceptance_rate", "divergences", "rhat_max", "pred_rhat_max", "pred_ess_bulk_min", "num_gradient_evals")


def _best(column: str, values: list[float]) -> int:
    if column.startswith("coverage@"):
        target = float(column.split("@")[1])
        return int(np.argmin([abs(v - target) for v in values]))
    return int(np.argmin(values))


def _table(comparison):
    summary = comparison.summary()
    columns = [*comparison.metrics, "fit_seconds"]
    best = {c: _best(c, [summary[m][c][0] for m in summary]) for c in columns}
    table = []
    for i, (method, values) in enumerate(summary.items()):
        cells = []
        for column in columns:
            mean, se = values[column]
            text = f"{mean:.4g}" if np.isnan(se) else f"{mean:.4g} ± {se:.2g}"
            cells.append({"text": text, "best": best[column] == i})
        table.append({"method": method, "cells": cells})
    return columns, table


def render_report(comparison) -> str:
    """The report as an HTML string."""
    import jinja2

    import uqlab

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("uqlab.diagnostics", "templates"), autoescape=jinja2.select_autoescape(["html"])
    )
    columns, table = _table(comparison)
    data, preds = comparison.data, comparison.predictives
    figures = []
    if data is not None and data.x.shape[1] == 1 and data.y.shape[1] == 1:
        figures.append({
            "title": "Predictive bands",
            "png": plots.figure_to_base64(plots.predictive_bands(preds, data, comparison.truth)),
            "caption": "Predictive mean with central 50% and 90% intervals on the test inputs; dots are training data, the dashed line the true function.",
        })
    if data is not None:
        figures.append({
            "title": "Calibration curves",
            "png": plots.figure_to_base64(plots.calibration_curves(preds, data.y_test)),
            "caption": "Observed fraction of test targets below each predicted quantile. Below the diagonal in the upper half: intervals too narrow (over-confident); above: too wide.",
        })
    figures.extend(comparison.sections)
    sampler = {
        name: {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in info.items() if k in _SAMPLER_KEYS}
        for name, info in comparison.infos.items()
        if any(k in info for k in _SAMPLER_KEYS)
    }
    meta = comparison.meta
    return env.get_template("report.html").render(
        problem=comparison.problem,
        description=meta.get("description", ""),
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        version=uqlab.__version__,
        seeds=meta.get("seeds"),
        num_train=meta.get("num_train"),
        num_test=meta.get("num_test"),
        quick=meta.get("quick", False),
        columns=columns,
        table=table,
        sampler=sampler,
        sampler_columns=[k for k in _SAMPLER_KEYS if any(k in v for v in sampler.values())],
        figures=figures,
    )


def write_report(comparison, path) -> pathlib.Path:
    """Render and write the report atomically; returns the path."""
    path = pathlib.Path(path)
    html = render_report(comparison)
    with atomic_write(path, encoding="utf-8") as handle:
        handle.write(html)
    return path
