"""Fitting Gaussian-process hyperparameters: type-II maximum likelihood ("gp") and NUTS ("gp_nuts").

* :class:`ExactGP` maximises the log marginal likelihood ``log p(y | X, theta)`` (optionally plus
  the log hyperprior: MAP-II) with scipy's L-BFGS-B on JAX gradients, from the model's initial
  hyperparameters and further restarts drawn from the hyperprior (Rasmussen & Williams 2006,
  sec. 5.4). The gradient is the closed form of :func:`uqlab.models.gp.gaussian_log_marginal`.
  The predictive is the closed-form Gaussian: one member, ``S = 1``.
* :class:`~uqlab.inference.gp_nuts.GPNUTS` samples ``p(theta | y) ∝ p(theta) p(y | X, theta)`` with
  NUTS (the fully Bayesian GP); the predictive is the equal mixture of the closed-form Gaussians,
  one per draw (:class:`GPPosterior` with ``S`` members).

All linear algebra runs in float64 inside ``jax.enable_x64`` (local, not global configuration).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from uqlab._validate import check_choice, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior, check_dataset
from uqlab.inference.driver import check_finite

__all__ = ["ExactGP", "GPPosterior", "check_gp_model", "select_members"]


def check_gp_model(model, method: str, data) -> None:
    """Raise ``TypeError`` unless ``model`` is a :class:`~uqlab.models.gp.GP` fitting ``data``."""
    from uqlab.models.gp import GP

    if not isinstance(model, GP):
        raise TypeError(f"model: {method} needs a uqlab.models.gp.GP, got {type(model).__name__}")
    model.check_inputs(*data.dims)


def gp_target(model, data, method: str):
    """``(model, data)`` of a GP method: ``data`` checked as a Dataset, ``model`` a GP that fits it."""
    data = check_dataset(data)
    check_gp_model(model, method, data)
    return model, data


def select_members(tree, num_samples: int | None):
    """Evenly thin a pytree with a leading member axis to ``num_samples`` members."""
    import jax

    size = jax.tree_util.tree_leaves(tree)[0].shape[0]
    if num_samples is None or num_samples >= size:
        return tree
    index = np.linspace(0, size - 1, num_samples).round().astype(int)
    return jax.tree_util.tree_map(lambda a: a[index], tree)


def _float64_data(data):
    import jax.numpy as jnp

    x, y = data.standardized()
    return jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)


@dataclasses.dataclass(repr=False)
class GPPosterior(Posterior):
    """Exact GP predictive, one closed-form Gaussian per hyperparameter set.

    Each member's Cholesky factor of ``K_y`` and ``alpha = K_y^{-1} (y - m)`` are computed once
    (at the first prediction, or at the end of :class:`ExactGP` fitting) and kept in memory, so
    later predictions cost a triangular solve and matrix products, ``O(N^2 M)``, not a fresh
    ``O(N^3)`` factorisation. The factors are not saved (a loaded posterior recomputes them on
    first use), and they are not kept when ``S N^2`` floats exceed :attr:`max_cached_bytes`
    (then each prediction factorises again, one member at a time). Replacing ``hypers``,
    ``x_train`` or ``y_train`` invalidates them.

    Attributes:
        hypers: GP params pytree with a leading member axis ``S`` (1 for type-II ML), chain-major
            when sampled.
        x_train, y_train: standardised training data (float64 numpy).
        num_chains: chains the sampled hyperparameters came from (1 for type-II ML).
        sample_stats: per-draw sampler statistics ``{name: (chains, draws)}`` when the
            hyperparameters were sampled (:class:`GPNUTS`), else None (no draws to export).
    """

    hypers: Any = None
    x_train: np.ndarray | None = None
    y_train: np.ndarray | None = None
    num_chains: int = 1
    sample_stats: dict | None = None

    max_cached_bytes: ClassVar[float] = 2**30

    @property
    def num_members(self) -> int:
        import jax

        return jax.tree_util.tree_leaves(self.hypers)[0].shape[0]

    def __setattr__(self, name, value):
        if name in ("hypers", "x_train", "y_train"):
            self.__dict__.pop("_factors", None)
        super().__setattr__(name, value)

    def _cached_factors(self, num_samples):
        """``(chol (S, N, N), alpha (S, N, d_out))`` of the selected members, or None if too large."""
        import jax

        n = len(self.x_train)
        members = self.num_members if num_samples is None else min(num_samples, self.num_members)
        cached = self.__dict__.get("_factors")
        if cached is not None and cached[0] == members:
            return cached[1]
        if 8.0 * members * n * n > self.max_cached_bytes:
            return None
        with jax.enable_x64(True):
            hypers = jax.tree_util.tree_map(np.asarray, select_members(self.hypers, num_samples))
            factors = _member_factors(self.model)(hypers, self.x_train, self.y_train)
        self.__dict__["_factors"] = (members, factors)  # one member selection at a time: bounded memory
        return factors

    def _member_outputs(self, x, num_samples, key):
        import jax

        del key
        with jax.enable_x64(True):
            hypers = jax.tree_util.tree_map(np.asarray, select_members(self.hypers, num_samples))
            x_star = np.asarray(x, np.float64)
            factors = self._cached_factors(num_samples)
            if factors is None:
                loc, scale = _member_predictor(self.model)(hypers, self.x_train, self.y_train, x_star)
            else:
                loc, scale = _factored_predictor(self.model)(hypers, self.x_train, *factors, x_star)
            return np.asarray(loc), np.asarray(scale)

    def chain_draws(self):
        if self.sample_stats is None:
            return None
        c = self.num_chains
        import jax

        return jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(c, len(a) // c, *np.shape(a)[1:]), self.hypers)

    def to_arviz(self, x=None, *, num_samples: int = 1000, seed: int = 0):
        """``arviz.InferenceData``: sampled hyperparameters (one variable per leaf, dims
        ``(chain, draw, ...)``) with the NUTS statistics and, with ``x``, each draw's predictive
        mean there; a type-II ML fit has one Gaussian predictive, exported as ``num_samples``
        draws (see :meth:`Posterior.to_arviz`)."""
        if self.sample_stats is None:
            return super().to_arviz(x, num_samples=num_samples, seed=seed)
        from uqlab.inference._arviz import to_inference_data

        return to_inference_data(self, self.chain_draws(), self.sample_stats, self.x_fit if x is None else x)

    def _quantity_draws(self) -> dict:
        import jax

        with jax.enable_x64(True):
            return jax.device_get(jax.vmap(self.model.quantities)(self.hypers))


@functools.lru_cache(maxsize=32)
def _member_factors(model):
    import jax

    return jax.jit(lambda h, x, y: jax.lax.map(lambda p: model.factor(p, x, y), h))


@functools.lru_cache(maxsize=32)
def _factored_predictor(model):
    import jax

    def one(args, x, xs):
        p, chol, alpha = args
        return model.predict_y_factored(p, x, chol, alpha, xs)

    return jax.jit(lambda h, x, chol, alpha, xs: jax.lax.map(lambda a: one(a, x, xs), (h, chol, alpha)))


@functools.lru_cache(maxsize=32)
def _member_predictor(model):
    import jax

    return jax.jit(lambda h, x, y, xs: jax.lax.map(lambda p: model.predict_y(p, x, y, xs), h))


@functools.lru_cache(maxsize=32)
def _objective(model, objective: str):
    """Jitted ``(params, x, y) -> (-objective, grad)``, cached per model so that repeated fits
    (restarts, refits on new data of the same shape) reuse one compilation; the data are
    arguments, not constants baked into the compiled program."""
    import jax

    def negative(params, x, y):
        value = model.log_marginal_likelihood(params, x, y)
        if objective == "map":
            value = value + model.log_prior(params)
        return -value

    return jax.jit(jax.value_and_grad(negative))


@dataclasses.dataclass(frozen=True)
class ExactGP(Method):
    """Type-II maximum likelihood (or MAP-II) for an exact GP.

    Args:
        objective: "ml" maximises ``log p(y | theta)``; "map" adds the model's log hyperprior.
        num_restarts: L-BFGS runs: the first from the model's initial hyperparameters, the rest
            from hyperprior draws; the best objective wins.
        max_iter: L-BFGS iterations per restart.
    """

    name: ClassVar[str] = "gp"
    capabilities: ClassVar[Capabilities] = Capabilities(model="gp", draws=False)
    objective: str = "ml"
    num_restarts: int = 3
    max_iter: int = 200

    def __post_init__(self):
        check_choice("objective", self.objective, ("ml", "map"))
        check_positive_int("num_restarts", self.num_restarts)
        check_positive_int("max_iter", self.max_iter)

    def target(self, model, data):
        """The GP and dataset, checked."""
        return gp_target(model, data, "ExactGP")

    def infer(self, target, session, key) -> GPPosterior:
        """Maximise the (penalised) log marginal likelihood; return the S = 1 posterior."""
        import jax
        from jax.flatten_util import ravel_pytree
        from scipy.optimize import minimize

        model, data = target
        with jax.enable_x64(True):
            x, y = _float64_data(data)
            _, unravel = ravel_pytree(model.init())
            value_and_grad = _objective(model, self.objective)
            scale = 1.0 / data.num_points
            counts = {"evaluations": 0}

            def scipy_fun(flat):
                counts["evaluations"] += 1
                value, grad = value_and_grad(unravel(flat), x, y)
                value = float(value) * scale
                if not np.isfinite(value):
                    return np.inf, np.zeros_like(flat)
                return value, np.asarray(ravel_pytree(grad)[0], np.float64) * scale

            keys = jax.random.split(key, self.num_restarts)
            runs = []
            for i, k in enumerate(keys):
                # The first run starts at the kernel's stated initial values (as scikit-learn
                # does), the others at hyperprior draws.
                start_params = model.init() if i == 0 else model.sample_prior(k)
                start_point = np.asarray(ravel_pytree(start_params)[0], np.float64)
                runs.append(minimize(scipy_fun, start_point, jac=True, method="L-BFGS-B",
                                     options={"maxiter": self.max_iter}))
            best = min(runs, key=lambda r: r.fun)
            check_finite("ExactGP", [best.fun], "the negative log marginal likelihood", "num_restarts")
            hypers = jax.tree_util.tree_map(lambda a: np.asarray(a)[None], unravel(best.x))
            lml = float(model.log_marginal_likelihood(unravel(best.x), x, y))
        info = {
            "log_marginal_likelihood": lml,
            "restart_objectives": [float(r.fun) for r in runs],
            "converged": bool(best.success),
            "num_iterations": int(best.nit),
            "num_evaluations": counts["evaluations"],
        }
        if not best.success:
            session.warn(f"ExactGP: L-BFGS stopped without converging ({best.message})")
        x_np, y_np = (np.asarray(a) for a in data.standardized())
        posterior = GPPosterior(self, model, data.scaler, info, hypers=hypers, x_train=x_np, y_train=y_np)
        posterior._cached_factors(None)  # the final factorisation belongs to the fit (as in scikit-learn)
        return posterior
