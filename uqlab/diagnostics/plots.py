"""Matplotlib figures for reports (Agg backend; each returns a Figure)."""

from __future__ import annotations

import numpy as np

from uqlab.diagnostics.calibration import calibration_curve, coverage_curve, miscalibration_area, pit

__all__ = [
    "predictive_bands", "calibration_curves", "pit_histograms", "coverage_curves", "sharpness_histograms",
    "uncertainty_split", "region_coverage", "figure_to_base64",
]

PAGE_WIDTH = 10.5
"""Width in inches of a full-width report figure (about the page's 1,150 pixels at the saved dpi)."""
MAX_COLUMNS = 3
LEGEND_SIZE = 10


def _pyplot():
    """pyplot on the Agg backend, except in a Jupyter kernel (where the inline backend shows figures)."""
    import sys

    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_to_base64(fig) -> str:
    """PNG bytes of ``fig`` as base64 text (for ``<img src="data:image/png;base64,...">``)."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)  # figures are laid out with tight_layout: no second bbox pass
    _pyplot().close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def predictive_bands(predictives: dict, data, truth: dict | None = None, levels=(0.5, 0.9)):
    """One panel per method: data, predictive mean and central intervals over a 1-D input; one
    legend shared by all panels."""
    x_test = data.x_test[:, 0]
    order = np.argsort(x_test)
    fig, axes = _panels(len(predictives), 3.4)
    for ax, (name, pred) in zip(axes, predictives.items()):
        for level, alpha in zip(sorted(levels, reverse=True), (0.2, 0.35, 0.5)):
            lower, upper = pred.interval(level)
            ax.fill_between(x_test[order], lower[order, 0], upper[order, 0], alpha=alpha, color="C0", lw=0, label=f"{level:.0%} interval")
        ax.plot(x_test[order], pred.mean[order, 0], color="C0", label="mean")
        if truth and "f_test" in truth:
            ax.plot(x_test[order], np.asarray(truth["f_test"])[order], "k--", lw=1, label="truth")
        ax.scatter(data.x[:, 0], data.y[:, 0], s=6, color="C3", alpha=0.6, label="train data")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    return _shared_legend(fig, axes[0])


def calibration_curves(predictives: dict, y):
    """Quantile calibration curves of all methods on one diagonal plot."""
    fig, ax = _diagonal()
    for name, pred in predictives.items():
        expected, observed = calibration_curve(pred, y, num_levels=49)
        ax.plot(expected, observed, marker=".", label=f"{name} (area {miscalibration_area(pred, y):.3f})")
    return _finish(fig, ax, "expected proportion (predicted quantile level)", "observed proportion of targets below", "Calibration")


def pit_histograms(predictives: dict, y, bins: int = 20):
    """One PIT histogram per method (density scale; flat at 1 when calibrated, U-shaped when
    over-confident, hump-shaped when under-confident)."""
    fig, axes = _panels(len(predictives), 2.8)
    for ax, (name, pred) in zip(axes, predictives.items()):
        ax.hist(pit(pred, y).ravel(), bins=bins, range=(0, 1), density=True, color="C0", alpha=0.7, label="PIT values")
        ax.axhline(1.0, color="k", ls="--", lw=1, label="calibrated (flat at 1)")
        ax.set_title(name)
        ax.set_xlabel("PIT value")
        ax.set_ylabel("density")
    return _shared_legend(fig, axes[0])


def coverage_curves(predictives: dict, y):
    """Observed coverage of central intervals against the nominal level, all methods on one plot."""
    fig, ax = _diagonal()
    for name, pred in predictives.items():
        levels, observed = coverage_curve(pred, y)
        ax.plot(levels, observed, marker=".", label=name)
    return _finish(fig, ax, "nominal level of the central interval", "observed coverage", "Coverage")


def sharpness_histograms(predictives: dict):
    """Distribution of the predictive standard deviation over test points, per method."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 4.4))
    for name, pred in predictives.items():
        ax.hist(pred.std.ravel(), bins=30, histtype="step", lw=1.5, label=name)
    return _finish(fig, ax, "predictive standard deviation", "test points", "Sharpness")


def uncertainty_split(predictives: dict):
    """Mean epistemic and aleatoric variance per method, stacked."""
    plt = _pyplot()
    names = list(predictives)
    epistemic = np.array([np.mean(p.epistemic_var) for p in predictives.values()])
    aleatoric = np.array([np.mean(p.aleatoric_var) for p in predictives.values()])
    fig, ax = plt.subplots(figsize=(5.0, 4.4))
    ax.bar(names, epistemic, label="epistemic (variance of member means)", color="C1")
    ax.bar(names, aleatoric, bottom=epistemic, label="aleatoric (mean member variance)", color="C0")
    ax.set_ylim(0, 1.3 * float(np.max(epistemic + aleatoric)))  # room for the legend above the bars
    return _finish(fig, ax, None, "mean predictive variance", "Epistemic / aleatoric split")


def region_coverage(table: dict):
    """Coverage (with two-standard-error bars) and mean interval width per input region and method.

    Args:
        table: :func:`uqlab.diagnostics.regions.region_coverage` output.
    """
    plt = _pyplot()
    regions = list(table["regions"])
    methods = list(dict.fromkeys(m for r in table["regions"].values() for m in r["methods"]))
    fig, (cov_ax, width_ax) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.8))
    x = np.arange(len(regions))
    step = 0.8 / max(len(methods), 1)
    for j, method in enumerate(methods):
        rows = [table["regions"][r]["methods"].get(method, {}) for r in regions]
        cov = np.array([row.get("coverage", np.nan) for row in rows])
        se = np.array([row.get("se", np.nan) for row in rows])
        width = np.array([row.get("width", np.nan) for row in rows])
        offset = x - 0.4 + step * (j + 0.5)
        cov_ax.bar(offset, cov, step, yerr=2 * se, capsize=3, color=f"C{j}", label=method)
        width_ax.bar(offset, width, step, color=f"C{j}")
    cov_ax.axhline(table["level"], color="k", ls="--", lw=1, label=f"nominal {table['level']:.0%}")
    cov_ax.set_ylim(0, 1.05)
    cov_ax.set_ylabel(f"coverage of {table['level']:.0%} intervals")
    width_ax.set_ylabel(f"mean width of {table['level']:.0%} intervals")
    for ax in (cov_ax, width_ax):
        ax.set_xticks(x, [f"{r}\n(n={table['regions'][r]['n']})" for r in regions], fontsize=9)
        ax.set_xlabel(table["axis"])
    return _shared_legend(fig, cov_ax)


def _panels(num: int, height: float):
    """Panels for ``num`` methods, up to :data:`MAX_COLUMNS` per row over the page width:
    ``(fig, axes)`` with ``axes`` a 1-D array of the used panels (spare ones removed)."""
    columns = min(num, MAX_COLUMNS)
    rows = -(-num // columns)
    fig, axes = _pyplot().subplots(rows, columns, figsize=(PAGE_WIDTH * columns / MAX_COLUMNS + 1.0, height * rows),
                                   sharey=True, squeeze=False)
    axes = axes.ravel()
    for ax in axes[num:]:
        ax.remove()
    return fig, axes[:num]


def _shared_legend(fig, ax):
    """One legend for all panels, above them (entries taken from ``ax``)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=LEGEND_SIZE, frameon=False)
    return fig


def _diagonal():
    """A square plot with the ideal ``y = x`` line on [0, 1]."""
    fig, ax = _pyplot().subplots(figsize=(5.0, 4.4))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
    return fig, ax


def _finish(fig, ax, xlabel: str | None, ylabel: str, title: str):
    """Label, title and legend one axes; tighten the layout."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=LEGEND_SIZE - 1)
    fig.tight_layout()
    return fig
