"""Observation models: how a network's raw outputs become a Gaussian ``(loc, scale)`` per point.

Each likelihood says how many raw outputs it needs per target dimension, which parameters of its
own it learns (with their prior), and how to score targets.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from uqlab._validate import check_positive

__all__ = ["Gaussian", "Heteroscedastic", "gaussian_log_prob"]

_HALF_LOG_2PI = 0.5 * jnp.log(2.0 * jnp.pi)


def gaussian_log_prob(y, loc, scale):
    """Elementwise ``log N(y | loc, scale^2)``."""
    z = (y - loc) / scale
    return -0.5 * z**2 - jnp.log(scale) - _HALF_LOG_2PI


@dataclasses.dataclass(frozen=True)
class Gaussian:
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
        if self.noise_scale is not None:
            return jnp.zeros(())
        return jnp.sum(gaussian_log_prob(params["log_noise"], self.noise_prior_loc, self.noise_prior_scale))

    def loc_scale(self, outputs, params: dict):
        """``(loc, scale)`` from raw outputs ``(N, d_out)``."""
        if self.noise_scale is not None:
            scale = jnp.full_like(outputs, self.noise_scale)
        else:
            scale = jnp.broadcast_to(jnp.exp(params["log_noise"]), outputs.shape)
        return outputs, scale


@dataclasses.dataclass(frozen=True)
class Heteroscedastic:
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
