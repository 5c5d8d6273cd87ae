"""Calibration of a :class:`~uqlab.predictive.Predictive`: PIT, calibration curves, ENCE, verdicts.

A predictive CDF :math:`F_n` is *probabilistically calibrated* when the PIT values
:math:`u_n = F_n(y_n)` are uniform on (0, 1) (Dawid, 1984; Gneiting et al., 2007). Everything here
is a summary of how far the PIT values are from uniform, except ENCE, which checks that the
predicted standard deviation matches the observed error size (Levi et al., 2022).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from uqlab._validate import check_positive_int
from uqlab.diagnostics._checks import levels as _levels
from uqlab.diagnostics._checks import memoised, targets
from uqlab.predictive import Predictive

__all__ = [
    "pit",
    "pit_test",
    "calibration_curve",
    "miscalibration_area",
    "calibration_error",
    "coverage_curve",
    "ence",
    "verdict",
]


def pit(pred: Predictive, y, *, seed: int = 0) -> np.ndarray:
    """Probability integral transform :math:`u = F(y)` per point and output, shape ``(N, D)``.

    For pure samples (S members) the empirical CDF is a step function, so the randomised rank
    PIT :math:`u = (r + V) / (S + 1)` is used, with :math:`r` the number of samples below
    :math:`y` (ties split at random) and :math:`V \\sim U(0, 1)`: for exchangeable samples and target,
    :math:`r` is uniform on :math:`\\{0, \\dots, S\\}` (the rank histogram; Hamill, 2001), so :math:`u`
    is exactly uniform (Czado et al., 2009). ``seed`` fixes the randomisation.
    """
    y = targets(pred, y)
    # Read by many calibration metrics of the same (Predictive, targets): memoised.
    return memoised(pred, ("pit", seed), y, lambda: _pit(pred, y, seed))


def _pit(pred: Predictive, y: np.ndarray, seed: int) -> np.ndarray:
    if pred.scale is not None:
        return pred.cdf(y)
    rng = np.random.default_rng(seed)
    below = np.sum(pred.loc < y[None], axis=0)
    ties = np.sum(pred.loc == y[None], axis=0)
    rank = below + rng.integers(0, ties + 1)
    return (rank + rng.uniform(size=y.shape)) / (pred.num_members + 1)


def pit_test(pred: Predictive, y) -> dict[str, float]:
    """Kolmogorov-Smirnov test of PIT uniformity over all points and outputs.

    Returns:
        ``{"statistic": D, "pvalue": p}``; a tiny p-value rejects calibration. With many targets
        the test detects even slight miscalibration: read the statistic as an effect size.
    """
    result = stats.kstest(pit(pred, y).ravel(), "uniform")
    return {"statistic": float(result.statistic), "pvalue": float(result.pvalue)}


def _grid(num_levels: int) -> np.ndarray:
    check_positive_int("num_levels", num_levels)
    return np.linspace(0, 1, num_levels + 2)[1:-1]


def calibration_curve(pred: Predictive, y, num_levels: int = 19) -> tuple[np.ndarray, np.ndarray]:
    """Quantile calibration curve (Kuleshov et al., 2018).

    Returns:
        ``(expected, observed)``: for ``p`` on an even grid in (0, 1), the fraction of targets
        whose PIT value is at most ``p``. A calibrated predictive lies on the diagonal; a curve
        below it in the upper half means too-narrow (over-confident) predictions.
    """
    expected = _grid(num_levels)
    values = np.sort(pit(pred, y).ravel())
    observed = np.searchsorted(values, expected, side="right") / values.size
    return expected, observed


def miscalibration_area(pred: Predictive, y, num_levels: int = 99) -> float:
    """Mean absolute gap :math:`\\frac1K\\sum_k |\\hat p_k - p_k|` between the calibration curve and the
    diagonal (0 = calibrated, at most 0.5), as in uncertainty-toolbox (Chung et al., 2021)."""
    expected, observed = calibration_curve(pred, y, num_levels)
    return float(np.mean(np.abs(observed - expected)))


def calibration_error(pred: Predictive, y, num_levels: int = 99) -> float:
    """Root-mean-squared calibration error :math:`\\sqrt{\\frac1K\\sum_k (\\hat p_k - p_k)^2}`
    (Kuleshov et al., 2018, with equal weights)."""
    expected, observed = calibration_curve(pred, y, num_levels)
    return float(np.sqrt(np.mean((observed - expected) ** 2)))


def coverage_curve(pred: Predictive, y, levels=None) -> tuple[np.ndarray, np.ndarray]:
    """Observed coverage of central intervals against their nominal levels.

    ``y`` lies in the central interval of level :math:`\\ell` iff
    :math:`(1-\\ell)/2 \\le F(y) \\le (1+\\ell)/2`, so all levels cost one CDF evaluation.

    Returns:
        ``(levels, observed)``; default levels 0.05, 0.10, ..., 0.95 and 0.99.
    """
    levels = np.append(np.arange(1, 20) / 20, 0.99) if levels is None else _levels("levels", levels)
    u = pit(pred, y).ravel()
    inside = (u[None] >= (1 - levels[:, None]) / 2) & (u[None] <= (1 + levels[:, None]) / 2)
    return levels, inside.mean(axis=1)


def ence(pred: Predictive, y, num_bins: int | None = None) -> float:
    """Expected normalised calibration error (Levi et al., 2022).

    Points (all outputs pooled) are sorted by predicted standard deviation into ``num_bins``
    equal-count bins; with :math:`\\mathrm{RMV}_k = \\sqrt{\\overline{\\sigma^2}}` and
    :math:`\\mathrm{RMSE}_k` of the predictive mean in bin :math:`k`,
    :math:`\\mathrm{ENCE} = \\frac1K \\sum_k |\\mathrm{RMV}_k - \\mathrm{RMSE}_k| / \\mathrm{RMV}_k`.
    ``num_bins`` defaults to 10, or the number of targets when there are fewer.
    """
    y = targets(pred, y)
    var, sq_err = pred.var.ravel(), ((pred.mean - y) ** 2).ravel()
    num_bins = min(10, var.size) if num_bins is None else num_bins
    check_positive_int("num_bins", num_bins)
    if num_bins > var.size:
        raise ValueError(f"num_bins: expected at most the number of targets ({var.size}), got {num_bins}")
    order = np.argsort(var, kind="stable")
    terms = []
    for index in np.array_split(order, num_bins):
        rmv = np.sqrt(np.mean(var[index]))
        terms.append(abs(rmv - np.sqrt(np.mean(sq_err[index]))) / max(rmv, np.finfo(float).tiny))
    return float(np.mean(terms))


def verdict(pred: Predictive, y, level: float = 0.9) -> dict:
    """A plain-language judgement of calibration.

    Uses the coverage gap at ``level`` against its binomial Monte Carlo error
    :math:`\\sqrt{\\ell(1-\\ell)/n}` (two standard errors count as a real gap), and the spread factor
    :math:`\\sqrt{\\overline{z^2}}`, :math:`z = (y-\\mu)/\\sigma`, by which the predictive standard
    deviation would have to be multiplied to match the observed errors.

    Returns:
        dict with ``label`` ("calibrated", "over-confident" or "under-confident"), ``coverage``,
        ``level``, ``gap``, ``tolerance``, ``spread_factor`` and a one-sentence ``text``.
    """
    y = targets(pred, y)
    _, (observed,) = coverage_curve(pred, y, [level])
    tolerance = 2 * np.sqrt(level * (1 - level) / y.size)
    with np.errstate(over="ignore"):  # a zero predicted spread gives an infinite factor, reported as such
        spread = float(np.sqrt(np.mean((y - pred.mean) ** 2 / np.maximum(pred.var, np.finfo(float).tiny))))
    gap = float(observed - level)
    if abs(gap) > tolerance:
        label = "over-confident" if gap < 0 else "under-confident"
        width = "narrow" if gap < 0 else "wide"
        factor = f"{spread:.2g}x" if spread < 1e3 else "more than 1000x"
        if (spread > 1) == (gap < 0):
            detail = f"intervals are too {width}: errors are {factor} the predicted standard deviation"
        else:  # coverage and the RMS standardised error disagree: the errors are not Gaussian-shaped
            detail = (f"intervals are too {width} for most targets, yet the RMS error is {factor} the "
                      "predicted standard deviation: a few errors lie far outside (heavy-tailed errors)")
    else:
        label = "calibrated"
        detail = f"within Monte Carlo error (±{tolerance:.1%}) of the nominal level"
    text = f"{label.capitalize()}: the {level:.0%} intervals cover {observed:.1%} of targets ({gap:+.1%}); {detail}."
    return {"label": label, "coverage": float(observed), "level": float(level), "gap": gap,
            "tolerance": float(tolerance), "spread_factor": spread, "text": text}
