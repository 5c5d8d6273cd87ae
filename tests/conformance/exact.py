"""Targets with a closed-form posterior, and Monte Carlo tolerances, for exact-posterior checks.

Conjugate Bayesian linear regression: ``y = X w + sigma eps`` with prior ``w ~ N(0, alpha^-1 I)``
and known ``sigma`` has the Gaussian posterior ``N(m, S)`` with
``S^-1 = A = X^T X / sigma^2 + alpha I`` and ``m = S X^T y / sigma^2`` (Bishop, 2006, sec. 3.3).
With two strongly correlated columns of ``X`` the posterior is a correlated 2-D Gaussian, the
target on which mean-field VI provably returns variances ``1 / A_ii`` (Bishop, 2006, sec. 10.1.2).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import uqlab
from uqlab.models.base import Model
from uqlab.models.likelihoods import gaussian_log_prob


@dataclasses.dataclass(frozen=True)
class LinearRegression(Model):
    """``y = x @ w + noise_scale * eps`` with ``w ~ N(0, prior_precision^-1 I)`` (no bias term)."""

    d_in: int = 2
    prior_precision: float = 1.0
    noise_scale: float = 0.5

    def init(self, key):
        return {"w": jax.random.normal(key, (self.d_in,))}

    def apply(self, params, x, *, key=None, train=False):
        loc = (x @ params["w"])[:, None]
        return loc, jnp.full_like(loc, self.noise_scale)

    def log_prior(self, params):
        return jnp.sum(gaussian_log_prob(params["w"], 0.0, self.prior_precision**-0.5))

    def log_likelihood(self, params, batch, *, key=None, train=False):
        loc, scale = self.apply(params, batch["x"])
        return jnp.sum(gaussian_log_prob(batch["y"], loc, scale), axis=-1)

    def exact_posterior(self, data: uqlab.Dataset) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean ``(d,)`` and covariance ``(d, d)`` given ``data`` (unstandardised)."""
        x, y = np.asarray(data.x, np.float64), np.asarray(data.y, np.float64)[:, 0]
        precision = x.T @ x / self.noise_scale**2 + self.prior_precision * np.eye(self.d_in)
        cov = np.linalg.inv(precision)
        return cov @ x.T @ y / self.noise_scale**2, cov


def linear_regression_problem(num_points: int = 50, correlation: float = 0.0, seed: int = 0, **model_settings):
    """A 2-input :class:`LinearRegression` model and a ``standardize=False`` dataset from it.

    ``correlation`` is the correlation of the two input columns (and so, with its sign flipped,
    roughly that of the posterior).
    """
    model = LinearRegression(**model_settings)
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, correlation], [correlation, 1.0]])
    x = rng.multivariate_normal(np.zeros(2), cov, num_points)
    y = x @ np.array([1.0, -0.5]) + model.noise_scale * rng.standard_normal(num_points)
    return model, uqlab.Dataset(x, y[:, None], standardize=False, name="linreg")


def mc_tolerance(sd, ess, z: float = 4.0):
    """``z`` Monte Carlo standard errors of a mean estimate: ``z * sd / sqrt(ess)``."""
    return z * np.asarray(sd) / np.sqrt(np.asarray(ess))


def var_tolerance(var, ess, z: float = 4.0):
    """``z`` standard errors of a Gaussian variance estimate: ``z * var * sqrt(2 / ess)``."""
    return z * np.asarray(var) * np.sqrt(2.0 / np.asarray(ess))
