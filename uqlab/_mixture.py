"""Numerical engine of :class:`~uqlab.predictive.Predictive`: mixture quantiles and blockwise threads.

* :func:`quantile_block`: quantiles of an equally weighted Gaussian mixture, which have no closed
  form: a Cornish-Fisher start, safeguarded Halley steps in float32 (:func:`erfc_f32`, the
  Abramowitz-Stegun normal tail) and a float64 Newton polish (Press et al., *Numerical Recipes*,
  2007, 9.4).
* :func:`blockwise`: run a column-block function over cache-sized slices, on several threads for
  large jobs (numpy releases the GIL inside its loops).

Everything is numpy and scipy; nothing here knows about Predictive itself.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import special

__all__ = ["blockwise", "erfc_f32", "quantile_block"]


def blockwise(fn, size: int, block: int, *, work: float, min_work: float = 5e7) -> None:
    """Call ``fn(cols)`` for consecutive slices of ``block`` columns out of ``size``.

    When ``work`` (a rough count of elementary operations) exceeds ``min_work``, the slices are
    spread over up to ``os.cpu_count()`` threads (at most 8): numpy releases the GIL inside its
    loops, and each call writes only its own columns. Small jobs stay on the calling thread.
    """
    slices = [slice(start, start + block) for start in range(0, size, block)]
    threads = min(len(slices), os.cpu_count() or 1, 8) if work > min_work else 1
    if threads <= 1:
        for cols in slices:
            fn(cols)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(fn, slices):
            pass  # re-raise any error



# Abramowitz & Stegun (1964) 7.1.26: erfc(x) = t P(t) exp(-x^2) + eps, t = 1 / (1 + p x), x >= 0,
# |eps| <= 1.5e-7; written for x = z / sqrt(2) of a standard normal z.
_AS_A = np.float32(0.3275911 / np.sqrt(2.0))
_AS_P = tuple(np.float32(c) for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


def erfc_f32(z: np.ndarray, t: np.ndarray, e: np.ndarray) -> np.ndarray:
    """:math:`\\mathrm{erfc}(z/\\sqrt2) = 2(1 - \\Phi(z))` for float32 ``z >= 0``, in place and vectorised.

    Abramowitz & Stegun (1964) 7.1.26, absolute error at most 1.5e-7 plus float32 rounding (about
    1e-7); about 5x cheaper than ``scipy.special.ndtr`` in float64. Leaves
    :math:`e^{-z^2/2}` in ``e`` (the normal density up to :math:`1/\\sqrt{2\\pi}`, which callers need
    too), uses ``t`` as scratch and overwrites ``z`` with the result, which it returns.
    """
    np.multiply(z, _AS_A, out=t)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    np.square(z, out=e)
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    np.multiply(t, _AS_P[-1], out=z)
    for coefficient in _AS_P[-2::-1]:
        z += coefficient
        z *= t
    z *= e
    return z


def quantile_block(loc, scale, center, spread, levels, fast: bool) -> np.ndarray:
    """Mixture quantiles at ``levels`` for a block of ``(S, M)`` members; ``(len(levels), M)``.

    The float32 phase works in standardised units ``w = (x - center) / spread`` (the mixture mean
    and standard deviation per point), so float32 keeps its relative precision whatever the units.
    """
    std_loc = ((loc - center) / scale).astype(np.float32)  # u_s = w * (spread / sigma_s) - std_loc_s
    ratio = (spread / scale).astype(np.float32)
    skew, kurt = _standardised_moments(loc, scale, center, spread)
    out = np.empty((len(levels), loc.shape[1]))
    for k, q in enumerate(levels):
        z = special.ndtri(q)
        # Every member's own q-quantile brackets the mixture's q-quantile.
        member_quantiles = loc + z * scale
        lo, hi = member_quantiles.min(axis=0), member_quantiles.max(axis=0)
        # Start: Cornish-Fisher expansion with the mixture's skewness and excess kurtosis.
        w = z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
        x = np.clip(center + w * spread, lo, hi)
        active = np.flatnonzero(hi > lo)  # points still iterating (S = 1: none)
        x = _newton(x, lo.copy(), hi.copy(), active, q, _F32Cdf(std_loc, ratio, center, spread), 5e-7, 1e-6 * spread)
        if not fast:
            x = _newton(x, lo, hi, active, q, _F64Cdf(loc, scale), 1e-12, 1e-10 * spread)
        out[k] = x
    return out


def _standardised_moments(loc, scale, center, spread) -> tuple[np.ndarray, np.ndarray]:
    """Skewness and excess kurtosis of the mixture per point (closed form over its members)."""
    d = (loc - center) / spread
    v = (scale / spread) ** 2
    d2 = d * d
    skew = np.mean(d * (d2 + 3 * v), axis=0)
    kurt = np.mean(d2 * (d2 + 6 * v) + 3 * v * v, axis=0) - 3
    return skew, kurt


class _F32Cdf:
    """Mixture CDF, density and density slope at ``x`` for the points ``index``, in float32 (see
    :func:`erfc_f32`); the slope lets :func:`_newton` take Halley steps (cubic convergence)."""

    def __init__(self, std_loc, ratio, center, spread):
        self.std_loc, self.ratio, self.center, self.spread = std_loc, ratio, center, spread

    def __call__(self, x, index):
        everything = index.size == self.std_loc.shape[1]
        m = self.std_loc if everything else self.std_loc[:, index]
        r = self.ratio if everything else self.ratio[:, index]
        w = ((x - self.center[index]) / self.spread[index]).astype(np.float32)
        u = w * r
        u -= m
        e = np.empty_like(u)
        tail = erfc_f32(np.abs(u), np.empty_like(u), e)
        # Phi(u) = (1 + sign(u) (1 - erfc(|u|/sqrt 2))) / 2; summed in float64 (the CDF needs 1e-7).
        np.subtract(np.float32(1.0), tail, out=tail)
        np.copysign(tail, u, out=tail)
        s = m.shape[0]
        cdf = 0.5 + 0.5 * tail.sum(axis=0, dtype=np.float64) / s
        # Density and its slope only set the step: float32 sums are ample.
        e *= r
        norm = s * np.sqrt(2 * np.pi) * self.spread[index]
        density = e.sum(axis=0) / norm
        e *= u
        e *= r
        slope = -e.sum(axis=0) / (norm * self.spread[index])
        return cdf, density, slope


class _F64Cdf:
    """Exact mixture CDF and density (``scipy.special.ndtr``) at ``x`` for the points ``index``."""

    def __init__(self, loc, scale):
        self.loc, self.scale = loc, scale

    def __call__(self, x, index):
        m, s = self.loc[:, index], self.scale[:, index]
        u = (x - m) / s
        density = np.mean(np.exp(-0.5 * u**2) / s, axis=0) / np.sqrt(2 * np.pi)
        return np.mean(special.ndtr(u), axis=0), density, None


def _newton(x, lo, hi, active, q, cdf, cdf_tol: float, x_tol: np.ndarray) -> np.ndarray:
    """Safeguarded Newton (Halley when ``cdf`` gives the density slope) for ``F(x) = q`` at the
    points ``active``; ``x``, ``lo``, ``hi`` are updated in place.

    A point stops, where it is, when :math:`|F(x) - q| <` ``cdf_tol`` (no further step: where the
    density is tiny, the step would be dominated by rounding in F), or when the bracket or the step is below its ``x_tol`` (per point, in the units of
    x; the mixture's standard deviation times a relative tolerance) plus four float64 ulps of x.
    """
    for _ in range(100):
        if active.size == 0:
            break
        xa, la, ha = x[active], lo[active], hi[active]
        value, density, slope = cdf(xa, active)
        error = value - q
        la, ha = np.where(error < 0, xa, la), np.where(error < 0, ha, xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            if slope is not None:  # Halley: x - g / (g' - g g'' / (2 g'))
                density = density - error * slope / (2 * density)
            step = xa - error / density
        inside = (step > la) & (step < ha)
        new = np.where(inside, step, 0.5 * (la + ha))
        tol = x_tol[active] + 4 * np.finfo(float).eps * np.abs(new)
        close = np.abs(error) < cdf_tol
        done = close | (ha - la <= tol) | (np.abs(new - xa) <= tol)
        x[active] = np.where(close, xa, new)
        lo[active], hi[active] = la, ha
        active = active[~done]
    return x
