"""Observation models: how a network's raw outputs become a Gaussian ``(loc, scale)`` per point.

Each likelihood says how many raw outputs it needs per target dimension, which parameters of its
own it learns (with their prior), and how to score targets: ``log_prob(y, outputs, params)`` is the
exact per-element log-density, ``loc_scale(outputs, params)`` the Gaussian that represents it in
a :class:`~uqlab.predictive.Predictive` (exact for the Gaussian likelihoods, moment-matched for
the Student-t).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from uqlab._validate import check_positive

__all__ = ["Gaussian", "Heteroscedastic", "StudentT", "gaussian_log_prob", "student_t_log_prob"]

_HALF_LOG_2PI = 0.5 * jnp.log(2.0 * jnp.pi)


def gaussian_log_prob(y, loc, scale):
    """Elementwise ``log N(y | loc, scale^2)``."""
    z = (y - loc) / scale
    return -0.5 * z**2 - jnp.log(scale) - _HALF_LOG_2PI


def student_t_log_prob(y, loc, scale, df):
    """Elementwise log-density of the location-scale Student-t ``t_df(y | loc, scale)``."""
    z = (y - loc) / scale
    return (
        jax.scipy.special.gammaln(0.5 * (df + 1.0)) - jax.scipy.special.gammaln(0.5 * df)
        - 0.5 * jnp.log(df * jnp.pi) - jnp.log(scale) - 0.5 * (df + 1.0) * jnp.log1p(z**2 / df)
    )


class _GaussianScore:
    """``log_prob`` for likelihoods whose ``loc_scale`` is the exact observation density."""

    def log_prob(self, y, outputs, params: dict):
        """Elementwise ``log N(y | loc, scale^2)`` from raw outputs."""
        loc, scale = self.loc_scale(outputs, params)
        return gaussian_log_prob(y, loc, scale)


def _learned_log_prior(params: dict, name: str, loc: float, scale: float):
    """``N(loc, scale^2)`` prior on a learned log-parameter, or 0 when it is fixed (absent)."""
    if name not in params:
        return jnp.zeros(())
    return jnp.sum(gaussian_log_prob(params[name], loc, scale))


@dataclasses.dataclass(frozen=True)
class Gaussian(_GaussianScore):
    """Homoscedastic Gaussian noise ``y = f(x) + sigma * eps``.

    Args:
        noise_scale: fixed sigma (in the units the method fits in: standardised targets by
            default), or ``None`` to learn ``log sigma`` per output with prior
            ``N(noise_prior_loc, noise_prior_scale^2)``.
        noise_prior_loc, noise_prior_scale: the prior on ``log sigma`` when learned.
    """

    noise_scale: float | None = None
    noise_prior_loc: float = -1.0
    noise_prior_scale: float = 1.0

    def __post_init__(self):
        check_positive("noise_scale", self.noise_scale, allow_none=True)
        check_positive("noise_prior_scale", self.noise_prior_scale)

    outputs_per_target = 1

    def init(self, d_out: int) -> dict:
        """Learned parameters (empty when the noise is fixed)."""
        if self.noise_scale is not None:
            return {}
        return {"log_noise": jnp.full((d_out,), self.noise_prior_loc)}

    def log_prior(self, params: dict):
        """Prior on the learned noise."""
        return _learned_log_prior(params, "log_noise", self.noise_prior_loc, self.noise_prior_scale)

    def loc_scale(self, outputs, params: dict):
        """``(loc, scale)`` from raw outputs ``(N, d_out)``."""
        if self.noise_scale is not None:
            scale = jnp.full_like(outputs, self.noise_scale)
        else:
            scale = jnp.broadcast_to(jnp.exp(params["log_noise"]), outputs.shape)
        return outputs, scale


@dataclasses.dataclass(frozen=True)
class Heteroscedastic(_GaussianScore):
    """Input-dependent Gaussian noise: the network outputs a mean and a scale per target.

    ``scale = min_scale + softplus(raw)``, as in deep ensembles (Lakshminarayanan et al., 2017).
    """

    min_scale: float = 1e-3

    def __post_init__(self):
        check_positive("min_scale", self.min_scale)

    outputs_per_target = 2

    def init(self, d_out: int) -> dict:
        del d_out
        return {}

    def log_prior(self, params: dict):
        del params
        return jnp.zeros(())

    def loc_scale(self, outputs, params: dict):
        del params
        loc, raw = jnp.split(outputs, 2, axis=-1)
        return loc, self.min_scale + jax.nn.softplus(raw)


@dataclasses.dataclass(frozen=True)
class StudentT:
    """Heavy-tailed noise ``y = f(x) + s * eps``, ``eps ~ t_nu`` (robust regression; Neal 1997).

    Training scores points with the exact Student-t density. A :class:`~uqlab.predictive.Predictive`
    is a Gaussian mixture, so each member's Student-t is represented by the Gaussian with the same
    mean and variance, ``N(f(x), s^2 nu / (nu - 2))`` (moment matching): means, variances and
    central intervals stay close, the tails are lighter than the model's. This needs ``nu > 2``.

    Args:
        scale: fixed ``s`` (standardised units), or ``None`` to learn ``log s`` per output with
            prior ``N(scale_prior_loc, scale_prior_scale^2)``.
        df: fixed degrees of freedom ``nu > 2``, or ``None`` to learn ``log(nu - 2)`` with prior
            ``N(df_prior_loc, df_prior_scale^2)``.
    """

    scale: float | None = None
    df: float | None = 4.0
    scale_prior_loc: float = -1.0
    scale_prior_scale: float = 1.0
    df_prior_loc: float = 1.0
    df_prior_scale: float = 1.0

    outputs_per_target = 1

    def __post_init__(self):
        check_positive("scale", self.scale, allow_none=True)
        check_positive("df", self.df, allow_none=True)
        if self.df is not None and self.df <= 2:
            raise ValueError(f"df: expected degrees of freedom > 2 (finite predictive variance), got {self.df!r}")
        check_positive("scale_prior_scale", self.scale_prior_scale)
        check_positive("df_prior_scale", self.df_prior_scale)

    def init(self, d_out: int) -> dict:
        params = {}
        if self.scale is None:
            params["log_scale"] = jnp.full((d_out,), self.scale_prior_loc)
        if self.df is None:
            params["log_df_minus_2"] = jnp.full((d_out,), self.df_prior_loc)
        return params

    def log_prior(self, params: dict):
        return _learned_log_prior(params, "log_scale", self.scale_prior_loc, self.scale_prior_scale) + (
            _learned_log_prior(params, "log_df_minus_2", self.df_prior_loc, self.df_prior_scale)
        )

    def scale_df(self, outputs, params: dict):
        """Student-t scale ``s`` and degrees of freedom ``nu``, broadcast to ``outputs``."""
        scale = jnp.exp(params["log_scale"]) if self.scale is None else self.scale
        df = 2.0 + jnp.exp(params["log_df_minus_2"]) if self.df is None else self.df
        return jnp.broadcast_to(scale, outputs.shape), jnp.broadcast_to(df, outputs.shape)

    def log_prob(self, y, outputs, params: dict):
        """Elementwise ``log t_nu(y | f(x), s)``."""
        scale, df = self.scale_df(outputs, params)
        return student_t_log_prob(y, outputs, scale, df)

    def loc_scale(self, outputs, params: dict):
        """The moment-matched Gaussian ``(f(x), s sqrt(nu / (nu - 2)))``."""
        scale, df = self.scale_df(outputs, params)
        return outputs, scale * jnp.sqrt(df / (df - 2.0))
