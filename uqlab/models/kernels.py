"""Covariance functions for Gaussian processes, as frozen settings plus a ``params`` pytree.

A kernel is a frozen dataclass holding its *initial* hyperparameters; its learnable state lives
in a separate dict of log-hyperparameters (positive by construction), so methods can optimise,
sample and vmap over them like any other model parameters:

.. code-block:: text

    params = kernel.init()                    {"log_variance": ..., "log_lengthscale": ...}
    K = kernel(params, x1, x2)                (N1, N2) Gram matrix

Stationary kernels use the scaled distance ``r^2 = sum_d ((x_d - x'_d) / l_d)^2`` with one
length-scale per input dimension when ``ard=True`` (automatic relevance determination,
MacKay 1994; Neal 1996) and one shared length-scale otherwise (Rasmussen & Williams 2006, ch. 4):

* RBF ``s^2 exp(-r^2 / 2)``
* Matern-nu ``s^2 (1 + sqrt(3) r) exp(-sqrt(3) r)`` (nu = 3/2), ``s^2 (1 + sqrt(5) r + 5 r^2 / 3)
  exp(-sqrt(5) r)`` (nu = 5/2), ``s^2 exp(-r)`` (nu = 1/2)
* rational quadratic ``s^2 (1 + r^2 / (2 alpha))^(-alpha)``
* periodic (MacKay 1998) ``s^2 exp(-2 sum_d sin^2(pi |x_d - x'_d| / p) / l_d^2)``

Kernels add and multiply (``k1 + k2``, ``k1 * k2``); combining kernels built for different input
dimensions raises.

Why hand-written rather than wrapping tinygp or GPJax: uqlab's model contract keeps frozen,
hashable settings apart from a plain params pytree of log-hyperparameters that NUTS, ``vmap``
over draws and save/load handle like any model's, and the closed-form gradient of the log
marginal likelihood (:func:`uqlab.models.gp.gaussian_log_marginal`) is the piece of numerics
that matters. The side-by-side measurements against both libraries (same kernel, parameters and
optimiser: identical log marginal likelihoods) and the decision are in ``docs/surrogates.md``.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from uqlab._validate import check_positive, check_positive_int

__all__ = ["Kernel", "RBF", "Matern12", "Matern32", "Matern52", "RationalQuadratic", "Periodic", "Sum", "Product"]


class Kernel:
    """Base class: ``init() -> params`` and ``__call__(params, x1, x2) -> (N1, N2)``."""

    d_in: int | None = None

    def init(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, params, x1, x2):  # pragma: no cover - interface
        raise NotImplementedError

    def diag(self, params, x):
        """``k(x_n, x_n)`` for each row, shape ``(N,)``."""
        return jnp.diagonal(self(params, x, x))

    def constrained(self, params) -> dict:
        """Hyperparameters in natural units (``exp`` of the log-parameters), flat names."""
        return {name.removeprefix("log_"): jnp.exp(value) for name, value in params.items()}

    def __add__(self, other):
        return Sum(self, other)

    def __mul__(self, other):
        return Product(self, other)


def _check_d_in(d_in):
    if d_in is not None:
        check_positive_int("d_in", d_in)


@dataclasses.dataclass(frozen=True)
class Stationary(Kernel):
    """A stationary kernel ``s^2 g(r)`` of the scaled distance ``r``.

    Args:
        variance: initial signal variance ``s^2`` (> 0).
        lengthscale: initial length-scale ``l`` (> 0); one per input dimension when ``ard``.
        d_in: input dimension (required for ``ard``; checked when kernels are combined).
        ard: one length-scale per input dimension.
    """

    variance: float = 1.0
    lengthscale: float = 1.0
    d_in: int | None = None
    ard: bool = False

    def __post_init__(self):
        check_positive("variance", self.variance)
        check_positive("lengthscale", self.lengthscale)
        _check_d_in(self.d_in)
        if self.ard and self.d_in is None:
            raise ValueError(f"d_in: expected the input dimension for an ARD {type(self).__name__}, got None")

    def init(self) -> dict:
        shape = (self.d_in,) if self.ard else ()
        return {
            "log_variance": jnp.asarray(math.log(self.variance)),
            "log_lengthscale": jnp.full(shape, math.log(self.lengthscale)),
        }

    def scaled_sq_dist(self, params, x1, x2):
        """``r^2`` between every pair of rows, ``(N1, N2)``."""
        ls = jnp.exp(params["log_lengthscale"])
        a, b = x1 / ls, x2 / ls
        r2 = jnp.sum(a**2, -1)[:, None] + jnp.sum(b**2, -1)[None, :] - 2.0 * a @ b.T
        return jnp.maximum(r2, 0.0)

    def profile(self, params, r2):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, params, x1, x2):
        return jnp.exp(params["log_variance"]) * self.profile(params, self.scaled_sq_dist(params, x1, x2))

    def diag(self, params, x):
        return jnp.full(x.shape[0], jnp.exp(params["log_variance"]))


def _safe_r(r2):
    """``sqrt(r^2)`` with a finite gradient at zero distance."""
    return jnp.sqrt(jnp.maximum(r2, 1e-30))


@dataclasses.dataclass(frozen=True)
class RBF(Stationary):
    """Squared exponential ``s^2 exp(-r^2 / 2)``: infinitely differentiable functions."""

    def profile(self, params, r2):
        return jnp.exp(-0.5 * r2)


@dataclasses.dataclass(frozen=True)
class Matern12(Stationary):
    """Matern nu = 1/2 (exponential, Ornstein-Uhlenbeck) ``s^2 exp(-r)``: rough paths."""

    def profile(self, params, r2):
        return jnp.exp(-_safe_r(r2))


@dataclasses.dataclass(frozen=True)
class Matern32(Stationary):
    """Matern nu = 3/2 ``s^2 (1 + sqrt(3) r) exp(-sqrt(3) r)``: once differentiable."""

    def profile(self, params, r2):
        r = math.sqrt(3.0) * _safe_r(r2)
        return (1.0 + r) * jnp.exp(-r)


@dataclasses.dataclass(frozen=True)
class Matern52(Stationary):
    """Matern nu = 5/2 ``s^2 (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r)``: twice differentiable."""

    def profile(self, params, r2):
        r = math.sqrt(5.0) * _safe_r(r2)
        return (1.0 + r + r**2 / 3.0) * jnp.exp(-r)


@dataclasses.dataclass(frozen=True)
class RationalQuadratic(Stationary):
    """Rational quadratic ``s^2 (1 + r^2 / (2 alpha))^(-alpha)``: a scale mixture of RBFs.

    Args:
        alpha: initial shape ``alpha`` (> 0); ``alpha -> inf`` recovers the RBF.
    """

    alpha: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check_positive("alpha", self.alpha)

    def init(self) -> dict:
        return {**super().init(), "log_alpha": jnp.asarray(math.log(self.alpha))}

    def profile(self, params, r2):
        alpha = jnp.exp(params["log_alpha"])
        return (1.0 + r2 / (2.0 * alpha)) ** (-alpha)


@dataclasses.dataclass(frozen=True)
class Periodic(Stationary):
    """Periodic kernel ``s^2 exp(-2 sum_d sin^2(pi |x_d - x'_d| / p) / l_d^2)`` (MacKay 1998).

    Args:
        period: initial period ``p`` (> 0), shared by all dimensions.
    """

    period: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        check_positive("period", self.period)

    def init(self) -> dict:
        return {**super().init(), "log_period": jnp.asarray(math.log(self.period))}

    def __call__(self, params, x1, x2):
        ls, period = jnp.exp(params["log_lengthscale"]), jnp.exp(params["log_period"])
        sines = jnp.sin(jnp.pi * (x1[:, None, :] - x2[None, :, :]) / period) / ls
        return jnp.exp(params["log_variance"]) * jnp.exp(-2.0 * jnp.sum(sines**2, -1))


@dataclasses.dataclass(frozen=True)
class _Combination(Kernel):
    """Two kernels on the same inputs; their params are ``(left_params, right_params)``."""

    left: Kernel
    right: Kernel

    def __post_init__(self):
        for name in ("left", "right"):
            if not isinstance(getattr(self, name), Kernel):
                raise TypeError(f"{name}: expected a Kernel, got {type(getattr(self, name)).__name__}")
        dims = {self.left.d_in, self.right.d_in} - {None}
        if len(dims) > 1:
            raise ValueError(
                f"kernels: cannot combine a kernel on {self.left.d_in} input dimensions with one on "
                f"{self.right.d_in}; expected the same d_in"
            )
        object.__setattr__(self, "d_in", dims.pop() if dims else None)

    def init(self):
        return (self.left.init(), self.right.init())

    def constrained(self, params) -> dict:
        left = {f"left.{k}": v for k, v in self.left.constrained(params[0]).items()}
        return {**left, **{f"right.{k}": v for k, v in self.right.constrained(params[1]).items()}}


@dataclasses.dataclass(frozen=True)
class Sum(_Combination):
    """``k1(x, x') + k2(x, x')``: independent additive components."""

    def __call__(self, params, x1, x2):
        return self.left(params[0], x1, x2) + self.right(params[1], x1, x2)

    def diag(self, params, x):
        return self.left.diag(params[0], x) + self.right.diag(params[1], x)


@dataclasses.dataclass(frozen=True)
class Product(_Combination):
    """``k1(x, x') k2(x, x')``: e.g. a locally periodic kernel ``RBF * Periodic``."""

    def __call__(self, params, x1, x2):
        return self.left(params[0], x1, x2) * self.right(params[1], x1, x2)

    def diag(self, params, x):
        return self.left.diag(params[0], x) * self.right.diag(params[1], x)
