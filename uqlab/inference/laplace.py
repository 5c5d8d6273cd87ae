"""Laplace approximation with a generalised Gauss-Newton Hessian and the linearised predictive.

After a MAP fit ``theta*`` (optax Adam, :func:`uqlab.inference._optimize.fit_map`), the posterior
over a subset of weights (the last layer, or all network weights) is approximated by

    q(theta) = N(theta*, Sigma),   Sigma^-1 = G + delta I,   G = sum_n J_n^T Lambda_n J_n,

with ``J_n = d f(x_n; theta) / d theta`` at ``theta*`` (Jacobian of the predicted mean),
``Lambda_n = diag(1 / sigma_n^2)`` the Gaussian likelihood's precision (at its MAP noise), and an
isotropic prior precision ``delta`` (MacKay, 1992; Ritter et al., 2018; Daxberger et al.,
"Laplace Redux", NeurIPS 2021). ``hessian="full"`` keeps G dense (P x P), ``"diag"`` its diagonal.
The likelihood's own parameters (a ``"lik"`` entry of the params dict) are kept at their MAP.

Prediction uses the linearised network (the GLM predictive, Immer, Korzepa & Bauer, 2021):
``y* ~ N(f(x*; theta*), J* Sigma J*^T + sigma^2)``, one Gaussian member per point.

Unless ``prior_precision`` is given, ``delta`` maximises the Laplace log marginal likelihood
(MacKay, 1992; Immer et al., "Scalable Marginal Likelihood Estimation for Model Selection in Deep
Learning", ICML 2021), evaluated post hoc at ``theta*`` on a log grid from G's eigenvalues
``lambda_i`` (exact for each grid point, cheap for every one):

    log p(D | delta) ~= log p(D | theta*) - delta / 2 |theta*|^2 + P / 2 log delta
                        - 1 / 2 sum_i log(lambda_i + delta).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, ClassVar

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.inference.base import Method, Posterior, check_dataset, check_model

__all__ = ["Laplace", "LaplacePosterior", "log_marginal_likelihood"]

PRIOR_GRID = np.logspace(-4, 4, 161)


def _subset(params, subset: str):
    """``(get, put)``: read the Laplace weights from params, and write them back."""
    if subset == "last_layer":
        return (lambda p: p["net"][-1]), (lambda p, sub: {**p, "net": [*p["net"][:-1], sub]})
    if isinstance(params, dict) and "lik" in params:
        return (lambda p: {k: v for k, v in p.items() if k != "lik"}), (lambda p, sub: {**p, **sub})
    return (lambda p: p), (lambda p, sub: sub)


def jacobians(model, params, subset: str, x):
    """``(J, loc, scale)``: J ``(N, d_out, P)`` of the predicted mean w.r.t. the flattened subset."""
    import jax

    get, put = _subset(params, subset)
    flat, unravel = jax.flatten_util.ravel_pytree(get(params))

    def one(xi):
        return jax.jacrev(lambda theta: model.apply(put(params, unravel(theta)), xi[None])[0][0])(flat)

    loc, scale = model.apply(params, x)
    return jax.lax.map(one, x, batch_size=64), loc, scale


def log_marginal_likelihood(delta, log_lik: float, sq_norm: float, eigenvalues) -> np.ndarray:
    """Laplace log evidence at prior precision(s) ``delta`` (module docstring)."""
    delta = np.asarray(delta, np.float64)[..., None]
    eigenvalues = np.clip(np.asarray(eigenvalues, np.float64), 0.0, None)
    p = eigenvalues.shape[0]
    log_det = np.sum(np.log(eigenvalues + delta), axis=-1)
    return log_lik - 0.5 * delta[..., 0] * sq_norm + 0.5 * p * np.log(delta[..., 0]) - 0.5 * log_det


@dataclasses.dataclass(repr=False)
class LaplacePosterior(Posterior):
    """The linearised Laplace predictive: one Gaussian member per point.

    Attributes:
        params: the MAP parameters.
        subset: "last_layer" or "all".
        mean: the flattened MAP of the subset ``(P,)``.
        covariance: ``Sigma`` ``(P, P)`` for a full Hessian, its diagonal ``(P,)`` for "diag".
    """

    params: Any = None
    subset: str = "all"
    mean: Any = None
    covariance: Any = None

    @property
    def num_members(self) -> int:
        return 1

    def _member_outputs(self, x, num_samples, key):
        import jax.numpy as jnp

        del num_samples, key
        jac, loc, scale = jacobians(self.model, self.params, self.subset, jnp.asarray(x, jnp.result_type(float)))
        cov = jnp.asarray(self.covariance)
        if cov.ndim == 1:
            var_f = jnp.einsum("ndp,p->nd", jac**2, cov)
        else:
            var_f = jnp.einsum("ndp,pq,ndq->nd", jac, cov, jac)
        return loc[None], jnp.sqrt(scale**2 + var_f)[None]

    def _quantity_draws(self) -> dict:
        import jax

        values = jax.device_get(self.model.quantities(self.params))
        return jax.tree_util.tree_map(lambda v: np.asarray(v)[None], values)


@dataclasses.dataclass(frozen=True)
class Laplace(Method):
    """Laplace approximation around a MAP fit with the linearised (GLM) predictive.

    Args:
        subset: "last_layer" (needs a model with ``features`` and ``params["net"]``, e.g.
            :class:`~uqlab.models.BayesianMLP`) or "all" weights.
        hessian: "full" (dense GGN, P x P) or "diag" (diagonal GGN).
        prior_precision: isotropic prior precision delta of the Laplace weights; None tunes it
            by maximising the Laplace marginal likelihood over ``PRIOR_GRID`` (1e-4 ... 1e4).
        num_steps, learning_rate, batch_size: the MAP fit (Adam).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "laplace"
    subset: str = "last_layer"
    hessian: str = "full"
    prior_precision: float | None = None
    num_steps: int = 2000
    learning_rate: float = 1e-2
    batch_size: int | None = None
    progress: bool | None = None

    def __post_init__(self):
        check_choice("subset", self.subset, ("last_layer", "all"))
        check_choice("hessian", self.hessian, ("full", "diag"))
        check_positive("prior_precision", self.prior_precision, allow_none=True)
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_positive_int("batch_size", self.batch_size, allow_none=True)

    def fit(self, model, data, *, key=0) -> LaplacePosterior:
        """MAP fit, GGN at the MAP, prior precision by marginal likelihood, linearised predictive."""
        import jax
        import jax.numpy as jnp

        from uqlab._convert import to_jax
        from uqlab.inference._optimize import fit_map
        from uqlab.models.base import log_joint

        check_model(model, "Laplace", *(("features",) if self.subset == "last_layer" else ()))
        data = check_dataset(data)
        start = time.perf_counter()
        params, losses = fit_map(
            model, data, key=as_key(key), num_members=1, num_steps=self.num_steps, learning_rate=self.learning_rate,
            batch_size=self.batch_size, train=False, progress=self.progress, desc="Laplace MAP",
        )
        params = jax.tree_util.tree_map(lambda a: a[0], params)
        if self.subset == "last_layer" and not (isinstance(params, dict) and isinstance(params.get("net"), list)):
            raise TypeError(f"subset: 'last_layer' needs params with a 'net' list of layers, got {type(params).__name__}")
        x, y = to_jax(data.standardized())
        jac, _, scale = jacobians(model, params, self.subset, x)
        precision = 1.0 / scale**2
        mean = jax.flatten_util.ravel_pytree(_subset(params, self.subset)[0](params))[0]
        if self.hessian == "full":
            ggn = jnp.einsum("ndp,nd,ndq->pq", jac, precision, jac)
            eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(ggn, np.float64))
        else:
            eigenvalues = np.asarray(jnp.einsum("ndp,nd->p", jac**2, precision), np.float64)
        batch = {"x": x, "y": y}
        log_lik = float(log_joint(model, params, batch, data.num_points) - model.log_prior(params))
        sq_norm = float(jnp.sum(mean**2))
        evidence = log_marginal_likelihood(PRIOR_GRID, log_lik, sq_norm, eigenvalues)
        delta = float(PRIOR_GRID[np.argmax(evidence)]) if self.prior_precision is None else self.prior_precision
        clipped = np.clip(eigenvalues, 0.0, None) + delta
        if self.hessian == "full":
            covariance = (eigenvectors / clipped) @ eigenvectors.T
        else:
            covariance = 1.0 / clipped
        info = {
            "fit_seconds": time.perf_counter() - start,
            "losses": losses[:, 0],
            "prior_precision": delta,
            "log_marginal_likelihood": float(log_marginal_likelihood(delta, log_lik, sq_norm, eigenvalues)),
            "prior_grid": PRIOR_GRID,
            "log_marginal_likelihood_grid": evidence,
            "num_laplace_params": int(mean.shape[0]),
        }
        return LaplacePosterior(
            self, model, data.scaler, info, params=params, subset=self.subset, mean=np.asarray(mean),
            covariance=covariance,
        )
