"""HTML summaries for notebooks: ``_repr_html_`` of Predictive, Posterior and Comparison.

Jupyter calls an object's ``_repr_html_`` when it is the last expression of a cell. Each summary
is a small self-contained table (inline styles only, no scripts), so it also renders on a code
host and in the documentation site. Chain diagnostics beyond the thresholds of
:mod:`uqlab._chains` are highlighted as in the report.
"""

from __future__ import annotations

import html
import math

import numpy as np

__all__ = ["predictive_html", "posterior_html", "comparison_html"]

_TABLE = 'style="border-collapse:collapse;font-size:0.9em"'
_CELL = "border:1px solid #ccc;padding:2px 8px;text-align:{align}"
_STATUS = {"fail": "background:#fbd9dc;font-weight:bold", "warn": "background:#fff4d6", None: ""}
_PREVIEW = 5


def _format(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}" if math.isfinite(value) else str(float(value))
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _table(header: list[str], rows: list[list], status=None) -> str:
    """An HTML table; ``status(row_label, value)`` may colour a value cell ("fail" / "warn" / None)."""
    def cell(tag, value, style):
        text = value if isinstance(value, str) else _format(value)
        return f'<{tag} style="{style}">{html.escape(text)}</{tag}>'

    left, right = _CELL.format(align="left"), _CELL.format(align="right")
    head = "".join(cell("th", h, left if i == 0 else right) for i, h in enumerate(header))
    body = ""
    for row in rows:
        cells = [cell("td", row[0], left)]
        for value in row[1:]:
            mark = None if status is None else status(row[0], value)
            cells.append(cell("td", value, right + (";" + _STATUS[mark] if mark else "")))
        body += "<tr>" + "".join(cells) + "</tr>"
    return f"<table {_TABLE}><tr>{head}</tr>{body}</table>"


def _title(text: str, detail: str) -> str:
    return f"<p style='margin:0.3em 0'><b>{html.escape(text)}</b> {html.escape(detail)}</p>"


def predictive_html(pred) -> str:
    """Kind and size of a Predictive, its average spread and the first few points' summaries."""
    s, (n, d) = pred.num_members, pred.shape
    kind = "samples" if pred.scale is None else "Gaussian" if s == 1 else "Gaussian mixture"
    split = ""
    if s > 1 and pred.scale is not None:
        total = float(np.mean(pred.var))
        share = float(np.mean(pred.epistemic_var)) / total if total > 0 else float("nan")
        split = f"; epistemic share of the variance {share:.1%}"
    head = _title("Predictive", f"({kind}: {s} member{'s' * (s != 1)}, {n} points, {d} output{'s' * (d != 1)}); "
                  f"mean predictive std {float(np.mean(pred.std)):.4g}{split}")
    preview = pred[: min(_PREVIEW, n)]
    lower, upper = preview.interval(0.9)
    rows = [[f"point {i}, output {j}", preview.mean[i, j], preview.std[i, j], f"[{lower[i, j]:.4g}, {upper[i, j]:.4g}]"]
            for i in range(preview.shape[0]) for j in range(d)]
    more = f"<p style='margin:0.2em 0;color:#555'>first {preview.shape[0]} of {n} points</p>" if n > _PREVIEW else ""
    return head + _table(["", "mean", "std", "90% interval"], rows) + more


def posterior_html(posterior, settings: dict, info) -> str:
    """The method and its settings, and the scalar entries of the fit's info (diagnostics highlighted).

    Args:
        posterior: the Posterior (for its class name, method name and member count).
        settings: the method's settings that differ from their defaults.
        info: the posterior's info mapping.
    """
    from uqlab._chains import cell_status

    head = _title(type(posterior).__name__, f"method {posterior.method.name!r}, {posterior.num_members} members")
    setting_rows = [[k, v] for k, v in settings.items()] or [["(all defaults)", ""]]
    info_rows = [[k, v] for k, v in info.items() if np.isscalar(v) and not isinstance(v, str)]
    tables = _table(["setting", "value"], setting_rows)
    if info_rows:
        tables += _table(["info", "value"], info_rows, status=lambda key, value: cell_status(key, value))
    return head + f"<div style='display:flex;gap:2em;align-items:flex-start'>{tables}</div>"


def comparison_html(comparison) -> str:
    """The method x metric table (mean ± standard error over seeds) of a Comparison."""
    summary = comparison.summary()
    columns = [*comparison.metrics, "fit_seconds"]
    rows = []
    for method, values in summary.items():
        cells = [method]
        for column in columns:
            mean, se = values[column]
            cells.append(f"{mean:.4g}" if np.isnan(se) else f"{mean:.4g} ± {se:.2g}")
        rows.append(cells)
    head = _title(f"Comparison on {comparison.problem}", f"({len(comparison.methods)} methods, "
                  f"seeds {comparison.meta.get('seeds', '?')})")
    hint = ("<p style='margin:0.2em 0;color:#555'>The full calibration report inline: "
            "<code>uqlab.diagnostics.report.Report(comparison)</code></p>")
    return head + _table(["method", *columns], rows) + hint
