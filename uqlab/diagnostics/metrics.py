"""Regression scores that read only a :class:`~uqlab.predictive.Predictive` and targets (numpy).

Every score averages over points and outputs; lower is better except coverage (closest to the
nominal level is best). References: Gneiting & Raftery (2007) for proper scoring rules and the
mixture CRPS; Kuleshov et al. (2018) for quantile calibration curves.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from uqlab._validate import check_level
from uqlab.predictive import Predictive

__all__ = [
    "rmse",
    "nll",
    "crps",
    "crps_values",
    "coverage",
    "interval_width",
    "pit",
    "calibration_curve",
    "miscalibration_area",
    "evaluate",
    "DEFAULT_METRICS",
]

DEFAULT_METRICS = ("rmse", "nll", "crps", "coverage@0.5", "coverage@0.9", "coverage@0.95", "width@0.9", "miscal_area")


def _targets(pred: Predictive, y) -> np.ndarray:
    if not isinstance(pred, Predictive):
        raise TypeError(f"pred: expected a uqlab.Predictive, got {type(pred).__name__}")
    return pred._check_y(y)


def rmse(pred: Predictive, y) -> float:
    """Root mean squared error of the predictive mean."""
    y = _targets(pred, y)
    return float(np.sqrt(np.mean((pred.mean - y) ** 2)))


def nll(pred: Predictive, y) -> float:
    """Mean negative log predictive density of the mixture (nats per point and output)."""
    return float(-np.mean(pred.logpdf(y)))


def _expected_abs_normal(mu, var):
    """``E|Z|`` for ``Z ~ N(mu, var)``: ``2 s phi(mu/s) + mu (2 Phi(mu/s) - 1)``."""
    s = np.sqrt(var)
    z = mu / s
    return 2.0 * s * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi) + mu * (2.0 * special.ndtr(z) - 1.0)


def crps_values(pred: Predictive, y, *, max_pair_elements: int = 2**24) -> np.ndarray:
    """CRPS per point and output, ``(N, D)``, exact for the Gaussian mixture.

    ``CRPS(F, y) = E|X - y| - 1/2 E|X - X'|`` with X, X' independent draws of F. For a mixture of
    Gaussians both expectations are sums of ``E|N(m, v)|`` terms (Grimit et al., 2006); the
    second is quadratic in the number of members S, so points are processed in blocks of at most
    ``max_pair_elements`` member pairs. For pure samples the same formula is the sample (energy)
    estimator, computed in O(S log S) from sorted samples.
    """
    y = _targets(pred, y)
    if pred.scale is None:
        return _crps_samples(pred.loc, y)
    loc, var = pred.loc, pred.scale**2
    s = pred.num_members
    first = np.mean(_expected_abs_normal(loc - y[None], var), axis=0)
    second = np.empty_like(first)
    flat_loc = loc.reshape(s, -1)
    flat_var = var.reshape(s, -1)
    out = second.reshape(-1)
    block = max(1, max_pair_elements // (s * s))
    for start in range(0, flat_loc.shape[1], block):
        sl = slice(start, start + block)
        m, v = flat_loc[:, sl], flat_var[:, sl]
        pair = _expected_abs_normal(m[:, None] - m[None], v[:, None] + v[None])
        out[sl] = pair.mean(axis=(0, 1))
    return first - 0.5 * second


def _crps_samples(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = samples.shape[0]
    first = np.mean(np.abs(samples - y[None]), axis=0)
    # E|X - X'| = 2 / S^2 * sum_i (2 i - S - 1) x_(i) for sorted samples (i = 1..S).
    ordered = np.sort(samples, axis=0)
    weights = (2 * np.arange(1, s + 1) - s - 1).reshape(-1, 1, 1)
    second = 2.0 * np.sum(weights * ordered, axis=0) / s**2
    return first - 0.5 * second


def crps(pred: Predictive, y) -> float:
    """Mean continuous ranked probability score (same units as y)."""
    return float(np.mean(crps_values(pred, y)))


def coverage(pred: Predictive, y, level: float = 0.9) -> float:
    """Fraction of targets inside the central ``level`` interval."""
    check_level("level", level)
    y = _targets(pred, y)
    lower, upper = pred.interval(level)
    return float(np.mean((y >= lower) & (y <= upper)))


def interval_width(pred: Predictive, level: float = 0.9) -> float:
    """Mean width of the central ``level`` interval (sharpness)."""
    lower, upper = pred.interval(level)
    return float(np.mean(upper - lower))


def pit(pred: Predictive, y) -> np.ndarray:
    """Probability integral transform ``F(y)`` per point and output; uniform if calibrated."""
    return pred.cdf(y)


def calibration_curve(pred: Predictive, y, num_levels: int = 19) -> tuple[np.ndarray, np.ndarray]:
    """Quantile calibration curve (Kuleshov et al., 2018).

    Returns:
        ``(expected, observed)``: for ``p`` on an even grid in (0, 1), the fraction of targets
        whose PIT value is at most ``p``. A calibrated predictive lies on the diagonal; a curve
        below it in the upper half means too-narrow (over-confident) predictions.
    """
    expected = np.linspace(0, 1, num_levels + 2)[1:-1]
    values = pit(pred, y).ravel()
    observed = np.mean(values[None, :] <= expected[:, None], axis=1)
    return expected, observed


def miscalibration_area(pred: Predictive, y, num_levels: int = 99) -> float:
    """Mean absolute gap between the calibration curve and the diagonal (0 = calibrated, max 0.5)."""
    expected, observed = calibration_curve(pred, y, num_levels)
    return float(np.mean(np.abs(observed - expected)))


def _metric(name: str):
    """Parse a metric name, e.g. ``"nll"`` or ``"coverage@0.9"``, into ``f(pred, y) -> float``."""
    base, _, arg = name.partition("@")
    simple = {"rmse": rmse, "nll": nll, "crps": crps, "miscal_area": miscalibration_area}
    if base in simple and not arg:
        return simple[base]
    if base in ("coverage", "width") and arg:
        level = float(arg)
        check_level(f"level in metric {name!r}", level)
        if base == "coverage":
            return lambda pred, y: coverage(pred, y, level)
        return lambda pred, y: interval_width(pred, level)
    raise ValueError(
        f"metrics: unknown metric {name!r}; expected one of rmse, nll, crps, miscal_area, coverage@LEVEL, width@LEVEL"
    )


def evaluate(pred: Predictive, y, metrics=DEFAULT_METRICS) -> dict[str, float]:
    """Compute several metrics by name, e.g. ``evaluate(pred, y, ["nll", "coverage@0.9"])``."""
    functions = {name: _metric(name) for name in metrics}
    _targets(pred, y)
    return {name: fn(pred, y) for name, fn in functions.items()}
