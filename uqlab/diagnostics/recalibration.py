"""Post-hoc recalibration and split conformal intervals for any :class:`~uqlab.predictive.Predictive`.

Both are fitted on a held-out *calibration* set (Predictive and targets) and applied to new
Predictives of the same model:

- :func:`fit_variance_scaling`: one factor :math:`s` that widens or narrows every member about
  the predictive mean, chosen by maximum likelihood (Kuleshov et al., 2018; Levi et al., 2022).
- :func:`fit_isotonic`: a monotone map :math:`R` of the predictive CDF, :math:`F' = R \\circ F`, fitted
  by isotonic regression of the empirical CDF of the PIT values (Kuleshov et al., 2018).
- :func:`conformal_interval`: split conformal intervals with finite-sample marginal coverage
  (Vovk et al., 2005; Lei et al., 2018), with normalised residual scores or conformalised
  quantiles (CQR; Romano et al., 2019).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize

from uqlab._validate import check_choice, check_level, check_positive_int
from uqlab.diagnostics._checks import targets
from uqlab.diagnostics.calibration import pit
from uqlab.predictive import Predictive

__all__ = ["MIN_CALIBRATION_POINTS", "VarianceScaling", "IsotonicRecalibration", "fit_variance_scaling", "fit_isotonic",
           "conformal_interval"]

MIN_CALIBRATION_POINTS = 10
"""Fewest calibration points each fit accepts. Below ten the fitted map is mostly noise: the
variance factor :math:`s^2 = \\overline{z^2}` of a calibrated Gaussian has relative standard
error :math:`\\sqrt{2/n}` (45% at n = 10), and an isotonic map or a conformal quantile from a handful
of ranks moves by ``1/n`` per point."""


def _calibration_targets(pred_cal: Predictive, y_cal, what: str) -> np.ndarray:
    """``y_cal`` checked against ``pred_cal`` and against :data:`MIN_CALIBRATION_POINTS`."""
    y_cal = targets(pred_cal, y_cal, "y_cal")
    if y_cal.shape[0] < MIN_CALIBRATION_POINTS:
        raise ValueError(
            f"y_cal: {what} needs at least {MIN_CALIBRATION_POINTS} calibration points, got {y_cal.shape[0]}"
        )
    return y_cal


@dataclasses.dataclass(frozen=True)
class VarianceScaling:
    """Scale a Predictive's spread by ``factor`` about its mean.

    Members become :math:`\\bar\\mu + s(\\mu_s - \\bar\\mu)` with scales :math:`s\\,\\sigma_s`, so the total
    predictive variance is multiplied by :math:`s^2` and the mean is unchanged.
    """

    factor: float

    def apply(self, pred: Predictive) -> Predictive:
        """The rescaled Predictive."""
        mean = pred.mean[None]
        scale = None if pred.scale is None else self.factor * pred.scale
        return Predictive(mean + self.factor * (pred.loc - mean), scale)


def fit_variance_scaling(pred_cal: Predictive, y_cal) -> VarianceScaling:
    """Fit :class:`VarianceScaling` by minimising the calibration-set NLL over :math:`\\log s`.

    For a single Gaussian the optimum is :math:`s^2 = \\overline{z^2}`; mixtures and sample
    predictives (KDE density) have no closed form, so a bounded 1-D search is used for all.

    Raises:
        ValueError: mismatched or non-finite targets, or fewer than :data:`MIN_CALIBRATION_POINTS`.
    """
    y_cal = _calibration_targets(pred_cal, y_cal, "variance scaling")

    def objective(log_s):
        return -np.mean(VarianceScaling(math.exp(log_s)).apply(pred_cal).logpdf(y_cal))

    result = optimize.minimize_scalar(objective, bounds=(-7.0, 7.0), method="bounded", options={"xatol": 1e-6})
    return VarianceScaling(float(math.exp(result.x)))


@dataclasses.dataclass(frozen=True)
class IsotonicRecalibration:
    """Recalibrated CDF :math:`R(F(y))` with :math:`R` piecewise linear through ``(knots, values)``.

    :meth:`apply` represents the recalibrated predictive by *quantile-mapped members*: the
    recalibrated :math:`\\tau`-quantile is :math:`F^{-1}(R^{-1}(\\tau))`, evaluated on the midpoint grid
    :math:`\\tau_k = (k - 1/2)/K`, giving a pure-sample Predictive (``scale=None``) with K members
    that every metric reads. Quantile mapping is chosen over a CDF wrapper so the result is an
    ordinary Predictive (saved, compared, reported like any other).
    """

    knots: np.ndarray
    values: np.ndarray

    def __call__(self, p) -> np.ndarray:
        """:math:`R(p)` for PIT values ``p``."""
        return np.interp(p, self.knots, self.values)

    def apply(self, pred: Predictive, num_quantiles: int = 99) -> Predictive:
        """The recalibrated Predictive as ``num_quantiles`` quantile-mapped members."""
        check_positive_int("num_quantiles", num_quantiles, minimum=2)
        tau = (np.arange(num_quantiles) + 0.5) / num_quantiles
        # R is non-decreasing with R(0) = 0, R(1) = 1: invert by swapping axes of the interpolation.
        levels = np.clip(np.interp(tau, self.values, self.knots), 1e-9, 1 - 1e-9)
        return Predictive(pred.quantile(levels, fast=True))  # |F(x) - level| <= 1e-6: ample for members


def fit_isotonic(pred_cal: Predictive, y_cal) -> IsotonicRecalibration:
    """Fit the isotonic recalibration map of Kuleshov et al. (2018).

    With calibration PIT values :math:`p_i = F_i(y_i)`, :math:`R` is the isotonic (non-decreasing)
    least-squares fit of the empirical CDF :math:`\\hat P(p_i) = |\\{j: p_j \\le p_i\\}| / n` on
    :math:`p_i` (``scipy.optimize.isotonic_regression``), pinned to :math:`R(0)=0`, :math:`R(1)=1`.
    """
    p = np.sort(pit(pred_cal, _calibration_targets(pred_cal, y_cal, "isotonic recalibration")).ravel())
    empirical = np.arange(1, p.size + 1) / p.size
    fitted = optimize.isotonic_regression(empirical, increasing=True).x
    knots = np.concatenate([[0.0], p, [1.0]])
    values = np.clip(np.concatenate([[0.0], fitted, [1.0]]), 0.0, 1.0)
    return IsotonicRecalibration(knots, np.maximum.accumulate(values))


def _conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """The :math:`\\lceil (n+1)\\ell \\rceil`-th smallest score per output column (finite-sample rank)."""
    n = scores.shape[0]
    rank = math.ceil((n + 1) * level)
    if rank > n:
        raise ValueError(
            f"y_cal: a calibration set of {n} points is too small for level {level}; "
            f"split conformal needs n >= {math.ceil(level / (1 - level))} (ceil((n+1)*level) <= n)"
        )
    return np.sort(scores, axis=0)[rank - 1]


def conformal_interval(pred_cal: Predictive, y_cal, pred_test: Predictive, level: float = 0.9, *,
                       score: str = "normalized") -> tuple[np.ndarray, np.ndarray]:
    """Split conformal central intervals for ``pred_test`` at ``level``.

    Scores on the calibration set, per output:

    - ``"normalized"``: :math:`|y - \\mu| / \\sigma` with the predictive mean and std; interval
      :math:`\\mu \\pm \\hat q\\,\\sigma`.
    - ``"cqr"``: :math:`\\max(l - y, y - u)` with the predictive's central ``level`` interval
      :math:`[l, u]`; interval :math:`[l - \\hat q, u + \\hat q]`.

    :math:`\\hat q` is the :math:`\\lceil (n+1)\\ell \\rceil`-th smallest of the n scores, which gives
    :math:`\\ell \\le P(y \\in C) \\le \\ell + 1/(n+1)` for exchangeable data (upper bound without ties).

    Returns:
        ``(lower, upper)``, each of shape ``pred_test.shape``.

    Raises:
        ValueError: level outside (0, 1), unknown score, mismatched shapes, NaN targets, or a
            calibration set too small for the level or under :data:`MIN_CALIBRATION_POINTS`.
    """
    check_level("level", level)
    check_choice("score", score, {"normalized", "cqr"})
    y_cal = _calibration_targets(pred_cal, y_cal, "split conformal")
    if not isinstance(pred_test, Predictive):
        raise TypeError(f"pred_test: expected a uqlab.Predictive, got {type(pred_test).__name__}")
    if pred_cal.shape[1] != pred_test.shape[1]:
        raise ValueError(f"pred_test: expected {pred_cal.shape[1]} outputs like pred_cal, got {pred_test.shape[1]}")
    if score == "normalized":
        std_cal = np.maximum(pred_cal.std, np.finfo(float).tiny)
        q = _conformal_quantile(np.abs(y_cal - pred_cal.mean) / std_cal, level)
        return pred_test.mean - q * pred_test.std, pred_test.mean + q * pred_test.std
    lower, upper = pred_cal.interval(level)
    q = _conformal_quantile(np.maximum(lower - y_cal, y_cal - upper), level)
    lower, upper = pred_test.interval(level)
    return lower - q, upper + q
