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


_PER_TARGETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def memoised(pred: Predictive, key, y: np.ndarray, compute) -> np.ndarray:
    """``compute()`` memoised per Predictive object, ``key`` and targets ``y`` (compared by value).

    PIT values and per-target CRPS are read by several metrics of the same (Predictive, targets).
    Predictives are immutable; the entry goes away with the Predictive. Returns a copy.
    """
    entries = _PER_TARGETS.setdefault(pred, [])
    for cached_key, cached_y, values in entries:
        if cached_key == key and np.array_equal(cached_y, y):
            return values.copy()
    values = compute()
    entries.append((key, y.copy(), values))
    return values.copy()


_QUANTILES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def quantiles(pred: Predictive, levels) -> list[np.ndarray]:
    """``pred.quantile(level, fast=True)`` for each level, memoised per Predictive object.

    Width, interval score, pinball loss and MAE share them; the levels not cached yet are solved
    together in one blockwise Newton pass (see :meth:`Predictive.quantile`). ``fast``: the
    quantile :math:`x` has :math:`|F(x) - q| \\le 10^{-6}`, negligible for scores averaged over
    targets. Predictives are immutable, and the cache entry goes away with the Predictive.
    """
    cache = _QUANTILES.setdefault(pred, {})
    levels = [float(q) for q in levels]
    missing = list(dict.fromkeys(q for q in levels if q not in cache))
    if missing:
        cache.update(zip(missing, pred.quantile(np.array(missing), fast=True)))
    return [cache[q] for q in levels]


def quantile(pred: Predictive, q: float) -> np.ndarray:
    """One memoised quantile (see :func:`quantiles`)."""
    return quantiles(pred, [q])[0]


def interval_levels(level: float) -> tuple[float, float]:
    """The quantile levels (1-level)/2 and (1+level)/2 of the central ``level`` interval."""
    check_level("level", level)
    return (1 - level) / 2, (1 + level) / 2


def interval(pred: Predictive, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Memoised central ``level`` interval (the (1-level)/2 and (1+level)/2 quantiles)."""
    lower, upper = quantiles(pred, interval_levels(level))
    return lower, upper
