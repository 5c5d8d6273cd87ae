"""Matplotlib figures for reports (Agg backend; each returns a Figure)."""

from __future__ import annotations

import numpy as np

from uqlab.diagnostics.calibration import calibration_curve, coverage_curve, miscalibration_area, pit

__all__ = [
    "predictive_bands", "calibration_curves", "pit_histograms", "coverage_curves", "sharpness_histograms",
    "uncertainty_split", "figure_to_base64",
]


def _pyplot():
    import matplotlib

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
    """One panel per method: data, predictive mean and central intervals over a 1-D input."""
    x_test = data.x_test[:, 0]
    order = np.argsort(x_test)
    fig, axes = _panels(len(predictives), 4.2, 3.4)
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
    axes[0].set_ylabel("y")
    axes[-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


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
    fig, axes = _panels(len(predictives), 3.4, 2.8)
    for ax, (name, pred) in zip(axes, predictives.items()):
        ax.hist(pit(pred, y).ravel(), bins=bins, range=(0, 1), density=True, color="C0", alpha=0.7)
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set_title(name)
        ax.set_xlabel("PIT value")
    axes[0].set_ylabel("density")
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for name, pred in predictives.items():
        ax.hist(pred.std.ravel(), bins=30, histtype="step", lw=1.5, label=name)
    return _finish(fig, ax, "predictive standard deviation", "test points", "Sharpness")


def uncertainty_split(predictives: dict):
    """Mean epistemic and aleatoric variance per method, stacked."""
    plt = _pyplot()
    names = list(predictives)
    epistemic = np.array([np.mean(p.epistemic_var) for p in predictives.values()])
    aleatoric = np.array([np.mean(p.aleatoric_var) for p in predictives.values()])
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2.5, 3.4))
    ax.bar(names, epistemic, label="epistemic (variance of member means)", color="C1")
    ax.bar(names, aleatoric, bottom=epistemic, label="aleatoric (mean member variance)", color="C0")
    return _finish(fig, ax, None, "mean predictive variance", "Epistemic / aleatoric split")


def _panels(num: int, width: float, height: float):
    """A row of ``num`` panels sharing the y axis: ``(fig, axes)`` with ``axes`` a 1-D array."""
    fig, axes = _pyplot().subplots(1, num, figsize=(width * num, height), sharey=True, squeeze=False)
    return fig, axes[0]


def _diagonal():
    """A square plot with the ideal ``y = x`` line on [0, 1]."""
    fig, ax = _pyplot().subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
    return fig, ax


def _finish(fig, ax, xlabel: str | None, ylabel: str, title: str):
    """Label, title and legend one axes; tighten the layout."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
