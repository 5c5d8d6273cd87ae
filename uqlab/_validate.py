"""Argument checks that fail early with messages naming the argument, the expectation and the value."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_finite",
    "check_level",
    "check_positive",
    "check_positive_int",
    "check_probability",
    "check_choice",
]


def check_finite(name: str, array) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or inf, saying how many and where the first is."""
    array = np.asarray(array)
    if not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: expected finite values, got {int(bad.sum())} NaN/inf entries "
            f"(first at index {first}: {array[first]})"
        )


def check_positive(name: str, value, *, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0 (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a positive number, got {value!r} ({type(value).__name__})")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")


def check_positive_int(name: str, value, *, allow_none: bool = False, minimum: int = 1) -> None:
    """Raise unless ``value`` is an integer >= ``minimum`` (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")


def check_probability(name: str, value, *, closed: bool = False) -> None:
    """Raise unless ``value`` lies in [0, 1) (``closed=False``: [0, 1); ``closed=True``: [0, 1])."""
    check_finite(name, value)
    upper_ok = value <= 1 if closed else value < 1
    if not (0 <= value and upper_ok):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name}: expected a value in {interval}, got {value!r}")


def check_level(name: str, value) -> None:
    """Raise unless ``value`` lies strictly inside (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number in (0, 1), got {value!r}")
    if not 0 < value < 1:
        raise ValueError(f"{name}: expected a value strictly between 0 and 1, got {value!r}")


def check_choice(name: str, value, choices) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``, listing them."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, got {value!r}")

