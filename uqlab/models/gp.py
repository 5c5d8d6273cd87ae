"""Gaussian-process regression: the model (kernel, mean, noise) and its closed-form algebra.

With ``f ~ GP(m, k)`` and ``y_n = f(x_n) + eps_n``, ``eps_n ~ N(0, sigma^2)``, the log marginal
likelihood of ``N`` targets and the predictive at ``x*`` are (Rasmussen & Williams 2006, alg. 2.1)

.. math::

    \\log p(y \\mid X, \\theta) = -\\tfrac12 (y - m)^T K_y^{-1} (y - m) - \\textstyle\\sum_i \\log L_{ii}
        - \\tfrac N2 \\log 2\\pi,\\qquad K_y = K_{XX} + (\\sigma^2 + \\epsilon) I = L L^T,

    f_* \\mid y \\sim N\\big(m_* + K_{*X} K_y^{-1}(y - m),\\; k_{**} - K_{*X} K_y^{-1} K_{X*}\\big),
    \\qquad y_* = f_* + \\varepsilon_*.

``epsilon`` is a small jitter for the Cholesky factorisation. Several target columns share the
hyperparameters (independent GPs with one kernel). Hyperparameters live on a log scale; their
prior (used by the fully Bayesian GP, and as a weak regulariser otherwise) is
``log theta ~ N(log theta_0, hyper_prior_scale^2)`` around the kernel's initial values.

Fitting is done by :mod:`uqlab.inference.gp` ("gp": type-II maximum likelihood, "gp_nuts": NUTS
over hyperparameters, "svgp": sparse variational GP). Run the algebra in float64 (the methods
wrap it in ``jax.enable_x64``).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.models.kernels import RBF, Kernel
from uqlab.models.likelihoods import gaussian_log_prob

__all__ = ["GP"]


@dataclasses.dataclass(frozen=True)
class GP:
    """Exact Gaussian-process regression model.

    Args:
        kernel: a :class:`~uqlab.models.kernels.Kernel` (sums and products allowed).
        mean: "zero" or "constant" (one learned constant per target column).
        noise_scale: initial observation noise standard deviation sigma (> 0), standardised units.
        learn_noise: learn sigma (else it stays at ``noise_scale``).
        jitter: added to the diagonal of ``K_y`` before the Cholesky factorisation.
        hyper_prior_scale: standard deviation of the Gaussian prior on each log-hyperparameter.
        d_out: number of target columns.

    Example:
        >>> from uqlab.models.kernels import Matern52, Periodic
        >>> model = GP(kernel=Matern52(lengthscale=0.5) + Periodic(period=1.0), mean="constant")
    """

    kernel: Kernel = dataclasses.field(default_factory=RBF)
    mean: str = "zero"
    noise_scale: float = 0.1
    learn_noise: bool = True
    jitter: float = 1e-6
    hyper_prior_scale: float = 1.5
    d_out: int = 1

    def __post_init__(self):
        if not isinstance(self.kernel, Kernel):
            raise TypeError(f"kernel: expected a uqlab.models.kernels.Kernel, got {type(self.kernel).__name__}")
        check_choice("mean", self.mean, ("zero", "constant"))
        check_positive("noise_scale", self.noise_scale)
        check_positive("jitter", self.jitter)
        check_positive("hyper_prior_scale", self.hyper_prior_scale)
        check_positive_int("d_out", self.d_out)

    def check_inputs(self, d_in: int, d_out: int) -> None:
        """Raise ``ValueError`` if the data's widths do not fit the kernel and ``d_out``."""
        if self.kernel.d_in is not None and self.kernel.d_in != d_in:
            raise ValueError(f"x: the kernel expects {self.kernel.d_in} input columns, got {d_in}")
        if d_out != self.d_out:
            raise ValueError(f"y: the GP was built with d_out={self.d_out}, got {d_out} target columns")

    # -------------------------------------------------------------- parameters
    def init(self, key=None) -> dict:
        """Log-hyperparameters at the kernel's initial values (deterministic; ``key`` unused)."""
        del key
        params = {"kernel": self.kernel.init(), "mean": jnp.zeros(self.d_out if self.mean == "constant" else 0)}
        if self.learn_noise:
            params["log_noise"] = jnp.asarray(math.log(self.noise_scale))
        return params

    def log_prior(self, params):
        """``sum log N(log theta | log theta_0, hyper_prior_scale^2)`` plus ``N(0, 1)`` on a constant mean."""
        hyper, centre = _without_mean(params), _without_mean(self.init())
        total = jnp.sum(gaussian_log_prob(params["mean"], 0.0, 1.0))
        for value, loc in zip(jax.tree_util.tree_leaves(hyper), jax.tree_util.tree_leaves(centre)):
            total += jnp.sum(gaussian_log_prob(value, loc, self.hyper_prior_scale))
        return total

    def sample_prior(self, key) -> dict:
        """Hyperparameters drawn from the prior (random restarts, NUTS initialisation)."""
        centre = self.init()
        leaves, tree = jax.tree_util.tree_flatten(_without_mean(centre))
        keys = jax.random.split(key, len(leaves) + 1)
        drawn = [leaf + self.hyper_prior_scale * jax.random.normal(k, leaf.shape, leaf.dtype) for leaf, k in zip(leaves, keys)]
        mean = jax.random.normal(keys[-1], centre["mean"].shape, centre["mean"].dtype)
        return {**jax.tree_util.tree_unflatten(tree, drawn), "mean": mean}

    def noise(self, params):
        """Observation noise standard deviation sigma."""
        return jnp.exp(params["log_noise"]) if self.learn_noise else jnp.asarray(self.noise_scale)

    def mean_fn(self, params, x):
        """Prior mean ``m(x)``, shape ``(N, d_out)``."""
        offset = params["mean"] if self.mean == "constant" else jnp.zeros(self.d_out)
        return jnp.broadcast_to(offset, (x.shape[0], self.d_out)).astype(x.dtype)

    def quantities(self, params) -> dict:
        """Hyperparameters in natural units (kernel ones named as in the kernel, plus "noise")."""
        values = dict(self.kernel.constrained(params["kernel"]))
        values["noise"] = self.noise(params)
        if self.mean == "constant":
            values["mean"] = params["mean"]
        return values

    # ------------------------------------------------------------------ algebra
    def factor(self, params, x, y):
        """Cholesky factor ``L`` of ``K_y = K(X, X) + (sigma^2 + jitter) I`` and ``alpha = K_y^{-1} (y - m)``.

        Everything the predictive needs from the training data; computing it once and passing it
        to :meth:`predict_y_factored` makes each prediction ``O(N^2 M)`` instead of ``O(N^3)``.

        Returns:
            ``(chol (N, N) lower-triangular, alpha (N, d_out))``.
        """
        k = self.kernel(params["kernel"], x, x)
        k = k + (self.noise(params) ** 2 + self.jitter) * jnp.eye(x.shape[0], dtype=k.dtype)
        chol = jnp.linalg.cholesky(k)
        alpha = jax.scipy.linalg.cho_solve((chol, True), y - self.mean_fn(params, x))
        return chol, alpha

    def log_marginal_likelihood(self, params, x, y):
        """``log p(y | X, theta)`` summed over target columns (a scalar).

        Reverse-mode gradients use the closed form (see :func:`gaussian_log_marginal`), about
        twice as fast as differentiating through the Cholesky factorisation; forward-mode
        differentiation (``jax.jvp``, ``jax.hessian``) is not supported.
        """
        k = self.kernel(params["kernel"], x, x)
        k = k + (self.noise(params) ** 2 + self.jitter) * jnp.eye(x.shape[0], dtype=k.dtype)
        return gaussian_log_marginal(k, y - self.mean_fn(params, x))

    def predict_f(self, params, x, y, x_star):
        """Latent posterior ``f(x*) | y``: mean ``(M, d_out)`` and variance ``(M,)``."""
        return self.predict_f_factored(params, x, *self.factor(params, x, y), x_star)

    def predict_f_factored(self, params, x, chol, alpha, x_star):
        """:meth:`predict_f` from a precomputed :meth:`factor` ``(chol, alpha)`` of the training data.

        ``mean = m(x*) + k*^T alpha`` and ``var = k(x*, x*) - ||L^{-1} k*||^2`` (Rasmussen &
        Williams 2006, Algorithm 2.1): one triangular solve and two matrix products.
        """
        k_star = self.kernel(params["kernel"], x_star, x)
        mean = self.mean_fn(params, x_star) + k_star @ alpha
        v = jax.scipy.linalg.solve_triangular(chol, k_star.T, lower=True)
        var = self.kernel.diag(params["kernel"], x_star) - jnp.sum(v**2, axis=0)
        return mean, jnp.maximum(var, 0.0)

    def predict_y(self, params, x, y, x_star):
        """Predictive ``y(x*) | y`` as ``(loc, scale)``, each ``(M, d_out)`` (noise included)."""
        return self.predict_y_factored(params, x, *self.factor(params, x, y), x_star)

    def predict_y_factored(self, params, x, chol, alpha, x_star):
        """:meth:`predict_y` from a precomputed :meth:`factor` ``(chol, alpha)``."""
        mean, var = self.predict_f_factored(params, x, chol, alpha, x_star)
        scale = jnp.sqrt(var + self.noise(params) ** 2)[:, None]
        return mean, jnp.broadcast_to(scale, mean.shape)


@jax.custom_vjp
def gaussian_log_marginal(cov, resid):
    """``sum_j log N(resid[:, j] | 0, cov)`` with a closed-form reverse-mode gradient.

    With ``cov = L L^T``, ``alpha = cov^{-1} resid`` and ``d`` columns, the cotangents are
    (Rasmussen & Williams 2006, eq. 5.9)

    .. math::

        \\frac{\\partial}{\\partial K} = \\tfrac12\\big(\\alpha \\alpha^T - d\\, K^{-1}\\big),
        \\qquad \\frac{\\partial}{\\partial r} = -\\alpha,

    so the backward pass costs one ``cho_solve`` against the identity (about ``2 N^3`` flops)
    instead of the transposed Cholesky derivative that autodiff builds (about twice that),
    and the kernel's own gradient is then a cheap ``O(N^2)`` vector-Jacobian product.

    Args:
        cov: ``(N, N)`` symmetric positive-definite covariance (noise and jitter included).
        resid: ``(N, d)`` residuals ``y - m(X)``.

    Returns:
        The scalar log density; NaN if ``cov`` is not numerically positive definite.
    """
    return _gaussian_log_marginal_fwd(cov, resid)[0]


def _gaussian_log_marginal_fwd(cov, resid):
    chol = jnp.linalg.cholesky(cov)
    alpha = jax.scipy.linalg.cho_solve((chol, True), resid)
    n, d = resid.shape
    log_det = jnp.sum(jnp.log(jnp.diagonal(chol)))
    value = -0.5 * jnp.sum(resid * alpha) - d * log_det - 0.5 * n * d * math.log(2 * math.pi)
    return value, (chol, alpha)


def _gaussian_log_marginal_bwd(saved, g):
    chol, alpha = saved
    eye = jnp.eye(chol.shape[0], dtype=chol.dtype)
    cov_inv = jax.scipy.linalg.cho_solve((chol, True), eye)
    d_cov = 0.5 * g * (alpha @ alpha.T - alpha.shape[1] * cov_inv)
    return d_cov, -g * alpha


gaussian_log_marginal.defvjp(_gaussian_log_marginal_fwd, _gaussian_log_marginal_bwd)


def _without_mean(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "mean"}
