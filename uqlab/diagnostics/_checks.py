"""Shared by the diagnostics: target and level checks, and memoised Predictive quantiles."""

from __future__ import annotations

import weakref

import numpy as np

from uqlab._validate import check_level
from uqlab.predictive import Predictive


def targets(pred: Predictive, y, name: str = "y") -> np.ndarray:
    """``y`` as a finite float array of shape ``pred.shape`` ``(N, D)`` (``(N,)`` allowed for D = 1).

    Raises:
        TypeError: ``pred`` is not a Predictive.
        ValueError: shape mismatch or NaN/inf targets (the message names ``name``).
    """
    if not isinstance(pred, Predictive):
        raise TypeError(f"pred: expected a uqlab.Predictive, got {type(pred).__name__}")
    try:
        return pred._check_y(y)
    except ValueError as error:
        raise ValueError(str(error).replace("y:", f"{name}:", 1)) from None


def levels(name: str, values) -> np.ndarray:
    """A 1-D float array of levels, each strictly inside (0, 1)."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D list of levels in (0, 1), got shape {values.shape}")
    for value in values:
        check_level(name, float(value))
    return values


_QUANTILES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def quantile(pred: Predictive, q: float) -> np.ndarray:
    """``pred.quantile(q)``, memoised per Predictive object (mixture quantiles need a Newton solve;
    width, interval score, pinball loss and MAE share them). Predictives are immutable, and the
    cache entry goes away with the Predictive."""
    cache = _QUANTILES.setdefault(pred, {})
    if q not in cache:
        cache[q] = pred.quantile(q)
    return cache[q]


def interval(pred: Predictive, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Memoised central ``level`` interval (the (1-level)/2 and (1+level)/2 quantiles)."""
    check_level("level", level)
    return quantile(pred, (1 - level) / 2), quantile(pred, (1 + level) / 2)
