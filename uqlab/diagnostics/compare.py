"""The results of a side-by-side comparison of inference methods, judged only by their Predictives.

:func:`uqlab.compare` (:mod:`uqlab.study`) fits the methods and builds a :class:`Comparison`;
everything here reads Predictives (numpy) and never fits anything.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from uqlab.diagnostics import store
from uqlab.predictive import Predictive

__all__ = ["Comparison", "load_comparison"]


@dataclasses.dataclass
class Comparison:
    """Results of :func:`uqlab.compare`.

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
        return store.save_comparison(self, path)

    @classmethod
    def load(cls, path) -> Comparison:
        """Load a comparison written by :meth:`save`."""
        return cls(**store.read_comparison(path))

    def _repr_html_(self) -> str:
        """Notebook display: the method x metric table (the full report: ``Report(comparison)``)."""
        from uqlab._display import comparison_html

        return comparison_html(self)

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


def load_comparison(path) -> Comparison:
    """Load a comparison saved by :meth:`Comparison.save` (the folder ``path``).

    Raises:
        FileNotFoundError: ``path`` is not a saved comparison (names the missing file).
    """
    return Comparison.load(path)
