"""Is a spectral solution resolved? The share of its amplitude in the highest resolved modes.

A Fourier solution that the grid resolves has coefficients that decay fast with the wavenumber;
an under-resolved one (a shock narrower than the grid spacing, a turbulent cascade that reaches
the grid scale) piles amplitude up in the highest modes, and soon after becomes non-finite.
:func:`tail_ratio` measures the largest coefficient among the top 20% of the resolved modes
relative to the largest coefficient overall (worst over snapshots). For Burgers at
``nu = 0.01/pi`` it tracks the relative L2 error against Cole-Hopf closely (the measurements are
in ``docs/measurements.md``; ``benchmarks/results/hostile_sweep_after.json`` lists the inputs
that fail).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["TAIL_BAND", "tail_ratio", "check_resolved"]

TAIL_BAND = 0.8
"""Modes with wavenumber >= ``TAIL_BAND`` x the largest resolved one form the tail."""


def tail_ratio(coefficients: np.ndarray, wavenumber: np.ndarray, k_max: float) -> float:
    """``max |c_k|`` over ``TAIL_BAND k_max <= k < k_max``, over ``max |c_k|``; worst snapshot.

    Args:
        coefficients: Fourier coefficients, snapshots on the leading axis, modes on the rest.
        wavenumber: the modes' wavenumber magnitude (broadcasts against one snapshot).
        k_max: the largest resolved wavenumber (exclusive).
    """
    size = np.abs(coefficients).reshape(coefficients.shape[0], -1)
    band = np.broadcast_to((wavenumber >= TAIL_BAND * k_max) & (wavenumber < k_max), coefficients.shape[1:]).ravel()
    peak = np.maximum(size.max(axis=1), np.finfo(float).tiny)
    return float((size[:, band].max(axis=1) / peak).max())


def check_resolved(values: np.ndarray, tail: float, *, grid: str, nu, raise_above: float,
                   warn_above: float | None, advice: str) -> None:
    """Raise ``ValueError`` (non-finite output, or ``tail > raise_above``) or warn (``tail > warn_above``).

    Args:
        values: the solution (checked for NaN/inf).
        tail: its :func:`tail_ratio`.
        grid: how the message names the grid argument and its value, e.g. ``"resolution=256"``.
        nu: the viscosity, named in the message.
        raise_above, warn_above: thresholds on the tail ratio.
        advice: what to change, appended to the message.
    """
    name = grid.split("=")[0]
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}: the solution became non-finite at {grid}, nu={nu}: the grid does not resolve it; "
                         f"{advice}")
    if tail > raise_above:
        raise ValueError(f"{name}: the grid ({grid}) does not resolve the solution at nu={nu}: the top "
                         f"{1 - TAIL_BAND:.0%} of its Fourier modes reach {tail:.2g} of the largest coefficient "
                         f"(limit {raise_above:g}); {advice}")
    if warn_above is not None and tail > warn_above:
        warnings.warn(f"{name}: the grid ({grid}) barely resolves the solution at nu={nu} (Fourier tail {tail:.2g} > "
                      f"{warn_above:g}; expect relative errors of about that size); {advice}", RuntimeWarning,
                      stacklevel=3)
