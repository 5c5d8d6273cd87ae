"""The Predictive: the one currency every diagnostic, comparison and report reads.

A Predictive is an equally weighted mixture over ``S`` members. Member ``s`` predicts, at each of
``N`` points and ``D`` outputs, a Gaussian ``N(loc[s], scale[s]**2)``:

.. math::

    p(y_{nd}) = \\frac{1}{S} \\sum_{s=1}^S \\mathcal{N}(y_{nd} \\mid \\mu_{snd}, \\sigma_{snd}^2).

MCMC and VI draws, ensemble members and dropout masks are the members; an exact GP is ``S = 1``.
``scale=None`` means the members are pure samples (point masses); densities are then estimated
with a Gaussian kernel (Silverman's bandwidth), CDFs and quantiles are empirical.

Everything is numpy: no jax, torch or arviz is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from uqlab._mixture import blockwise, quantile_block
from uqlab._validate import check_finite, check_level, check_positive_int

__all__ = ["Predictive"]

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True, eq=False)
class Predictive:
    """Equally weighted mixture of ``S`` Gaussian members at ``N`` points with ``D`` outputs.

    Attributes:
        loc: member means, shape ``(S, N, D)``.
        scale: member standard deviations, shape ``(S, N, D)``, or ``None`` for pure samples.
    """

    loc: np.ndarray
    scale: np.ndarray | None = None

    def __post_init__(self):
        loc = np.asarray(self.loc, dtype=np.float64)
        if loc.ndim != 3 or loc.shape[0] == 0:
            raise ValueError(
                f"loc: expected an array of shape (S, N, D) with S >= 1, got shape {loc.shape}"
            )
        check_finite("loc", loc)
        object.__setattr__(self, "loc", _frozen(loc.view()))
        if self.scale is not None:
            scale = np.broadcast_to(np.asarray(self.scale, dtype=np.float64), loc.shape)
            check_finite("scale", scale)
            if np.any(scale <= 0):
                raise ValueError(
                    f"scale: expected strictly positive member scales, got minimum {scale.min():g}"
                )
            object.__setattr__(self, "scale", scale)

    # ------------------------------------------------------------------ shape
    @property
    def num_members(self) -> int:
        """Number of mixture members ``S``."""
        return self.loc.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, D)``: points and outputs."""
        return self.loc.shape[1:]

    @property
    def is_sample(self) -> bool:
        """True when the members are pure samples (``scale is None``)."""
        return self.scale is None

    def __getitem__(self, index) -> Predictive:
        """Select points (first axis of ``(N, D)``), keeping all members."""
        index = np.arange(self.shape[0])[index]
        index = np.atleast_1d(index)
        scale = None if self.scale is None else self.scale[:, index]
        return Predictive(self.loc[:, index], scale)

    def affine(self, shift, scale) -> Predictive:
        """The predictive of ``shift + scale * y`` (undo a standardisation); ``scale > 0``."""
        scale = np.asarray(scale, dtype=np.float64)
        if np.any(scale <= 0):
            raise ValueError(f"scale: expected positive values, got {scale}")
        new_scale = None if self.scale is None else self.scale * scale
        return Predictive(shift + scale * self.loc, new_scale)

    # ------------------------------------------------------------- moments
    # Moments are cached (read-only arrays): a Predictive is immutable and the metrics read them often.
    @cached_property
    def mean(self) -> np.ndarray:
        """Predictive mean, shape ``(N, D)``."""
        return _frozen(self.loc.mean(axis=0))

    @cached_property
    def epistemic_var(self) -> np.ndarray:
        """Variance of the member means (model uncertainty), shape ``(N, D)``."""
        return _frozen(self.loc.var(axis=0))

    @cached_property
    def aleatoric_var(self) -> np.ndarray:
        """Mean of the member variances (noise), shape ``(N, D)``; zero for pure samples."""
        if self.scale is None:
            return _frozen(np.zeros(self.shape))
        return _frozen(np.mean(self.scale**2, axis=0))

    @cached_property
    def var(self) -> np.ndarray:
        """Total predictive variance (law of total variance), shape ``(N, D)``."""
        return _frozen(self.epistemic_var + self.aleatoric_var)

    @cached_property
    def std(self) -> np.ndarray:
        """Total predictive standard deviation, shape ``(N, D)``."""
        return _frozen(np.sqrt(self.var))

    # ------------------------------------------------------- distribution
    def _check_y(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1 and self.shape[1] == 1:
            y = y[:, None]
        if y.shape != self.shape:
            raise ValueError(f"y: expected shape {self.shape} (N, D) to match the Predictive, got {y.shape}")
        check_finite("y", y)
        return y

    def _kde_bandwidth(self) -> np.ndarray:
        # Silverman's rule of thumb per point and output; floored so that identical samples
        # still give a finite density.
        s = self.num_members
        sd = self.loc.std(axis=0, ddof=1) if s > 1 else np.zeros(self.shape)
        floor = 1e-6 * np.maximum(1.0, np.abs(self.mean))
        return np.maximum(1.06 * sd * s ** (-0.2), floor)

    def _component_scale(self) -> np.ndarray:
        return self.scale if self.scale is not None else self._kde_bandwidth()[None]

    def logpdf(self, y) -> np.ndarray:
        """Log density of the mixture at ``y`` (shape ``(N, D)``), per point and output.

        :math:`\\log p(y) = m + \\log \\sum_s e^{-z_s^2/2 - m} / \\sigma_s - \\log S - \\tfrac12 \\log 2\\pi`
        with :math:`z_s = (y - \\mu_s)/\\sigma_s` and :math:`m = \\max_s(-z_s^2/2)`: the closest member's
        term is :math:`1/\\sigma_s`, so the sum never underflows (a log-sum-exp without ``S x N``
        logarithms).
        """
        y = self._check_y(y).reshape(-1)
        s = self.num_members
        loc = self.loc.reshape(s, -1)
        sigma = self._component_scale()
        sigma = sigma.reshape(sigma.shape[0], -1)  # (S, N * D), or (1, N * D) bandwidths for samples
        out = np.empty_like(y)

        def block(cols: slice) -> None:
            z = y[cols] - loc[:, cols]
            z /= sigma[:, cols]
            np.square(z, out=z)
            z *= -0.5
            shift = z.max(axis=0)
            z -= shift
            np.exp(z, out=z)
            z /= sigma[:, cols]
            out[cols] = shift + np.log(z.sum(axis=0))

        blockwise(block, y.size, max(1, 2**16 // s), work=40 * loc.size)
        return (out - np.log(s) - 0.5 * _LOG_2PI).reshape(self.shape)

    def cdf(self, y) -> np.ndarray:
        """Mixture CDF at ``y`` (shape ``(N, D)``), exact (``scipy.special.ndtr``); empirical for
        pure samples. Large inputs are done in cache-sized blocks on several threads."""
        y = self._check_y(y)
        if self.scale is None:
            return np.mean(self.loc <= y[None], axis=0)
        s, y = self.num_members, y.reshape(-1)
        loc, scale = self.loc.reshape(s, -1), self.scale.reshape(s, -1)
        out = np.empty_like(y)

        def block(cols: slice) -> None:
            out[cols] = np.mean(special.ndtr((y[cols] - loc[:, cols]) / scale[:, cols]), axis=0)

        blockwise(block, y.size, max(1, 2**16 // s), work=40 * loc.size)
        return out.reshape(self.shape)

    def quantile(self, q, *, fast: bool = False) -> np.ndarray:
        """Quantiles of the mixture.

        Mixture quantiles have no closed form. From a Cornish-Fisher start (the mixture's skewness
        and kurtosis), a float32 phase takes safeguarded Halley steps on the CDF (bisection whenever a
        step leaves the bracket formed by the members' own quantiles), with the Abramowitz-Stegun
        normal tail (:func:`uqlab._mixture.erfc_f32`, within 2e-7), until :math:`|F(x) - q| < 5 \\times 10^{-7}`; unless ``fast``, float64
        Newton steps with the exact normal CDF then polish to a bracket of 1e-10 standard deviations
        or :math:`|F(x) - q| < 10^{-12}` (usually two steps: Newton converges quadratically). All
        levels of a block of points are solved while its members sit in cache; large jobs run on
        several threads. See Press et al., *Numerical Recipes* (2007), 9.4 (safeguarded Newton).

        Args:
            q: a probability or 1-D array of probabilities in (0, 1).
            fast: stop after the float32 phase: :math:`|F(x) - q| \\le 10^{-6}`, so the quantile is off
                by at most :math:`10^{-6}/f(x)` (f the density); what averaged scores need, at about a
                third of the cost.

        Returns:
            Array of shape ``(N, D)`` for scalar ``q``, else ``(len(q), N, D)``. Pure samples give
            the empirical quantiles (``numpy.quantile``, linear interpolation).
        """
        q_arr = np.atleast_1d(np.asarray(q, dtype=np.float64))
        for value in q_arr:
            check_level("q", value)
        if self.scale is None:
            out = np.quantile(self.loc, q_arr, axis=0)
        else:
            out = self._mixture_quantile(q_arr, fast)
        return out[0] if np.ndim(q) == 0 else out

    def _mixture_quantile(self, levels: np.ndarray, fast: bool, block_elements: int = 2**16) -> np.ndarray:
        s = self.num_members
        loc, scale = self.loc.reshape(s, -1), self.scale.reshape(s, -1)
        center, spread = self.mean.ravel(), self.std.ravel()
        out = np.empty((len(levels), loc.shape[1]))

        def block(cols: slice) -> None:
            out[:, cols] = quantile_block(loc[:, cols], scale[:, cols], center[cols], spread[cols], levels, fast)

        blockwise(block, loc.shape[1], max(1, block_elements // s), work=30 * len(levels) * loc.size)
        return out.reshape((len(levels),) + self.shape)

    def interval(self, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """Central interval with probability ``level``: the (1-level)/2 and (1+level)/2 quantiles."""
        check_level("level", level)
        lower, upper = self.quantile(np.array([(1 - level) / 2, (1 + level) / 2]))
        return lower, upper

    def sample(self, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` samples from the mixture, shape ``(n, N, D)``.

        Args:
            n: number of draws (positive).
            rng: a ``numpy.random.Generator`` or a seed.
        """
        check_positive_int("n", n)
        rng = np.random.default_rng(rng)
        members = rng.integers(0, self.num_members, size=(n,) + self.shape)
        loc = np.take_along_axis(self.loc, members, axis=0) if n else self.loc[:0]
        if self.scale is None:
            return loc
        scale = np.take_along_axis(self.scale, members, axis=0)
        return loc + scale * rng.standard_normal(loc.shape)

    def thin(self, num_members: int) -> Predictive:
        """Keep ``num_members`` evenly spaced members (cheaper diagnostics)."""
        check_positive_int("num_members", num_members)
        if num_members >= self.num_members:
            return self
        index = np.linspace(0, self.num_members - 1, num_members).round().astype(int)
        scale = None if self.scale is None else self.scale[index]
        return Predictive(self.loc[index], scale)

    def __repr__(self) -> str:
        kind = "samples" if self.scale is None else "Gaussian mixture"
        s, (n, d) = self.num_members, self.shape
        return f"Predictive({kind}, members={s}, points={n}, outputs={d})"

    def _repr_html_(self) -> str:
        """Notebook display: kind, size, average spread and the first points' mean, std and interval."""
        from uqlab._display import predictive_html

        return predictive_html(self)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
