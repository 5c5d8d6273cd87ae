"""What a Hamiltonian sampler can target: a uqlab model, a NumPyro model, or a log density.

:func:`make_target` turns ``(model, data)`` into a :class:`Target`: an unconstrained log density,
a per-chain initialiser, the map to the reported (constrained) space, and how to wrap the draws
in a :class:`~uqlab.inference.base.ParticlePosterior`.

* uqlab model + :class:`~uqlab.data.Dataset`: ``log p(theta) + sum_n log p(y_n | x_n, theta)`` on
  standardised data; the posterior predicts.
* NumPyro model function + dict of its keyword arguments: NumPyro's ``initialize_model`` gives
  the potential ``-log p(z, data)`` over unconstrained latents ``z`` (with log-Jacobians) and
  ``postprocess_fn`` maps draws to the constrained space (plus deterministic sites); chains start
  from NumPyro's ``init_to_uniform``. ``samples()`` is then a dict site -> ``(chain, draw, ...)``.
* :class:`LogDensity` (``data=None``): any JAX-traceable ``params -> log density``.
* :class:`~uqlab.models.gp.GP` + Dataset: the hyperparameters' posterior
  ``p(theta | y) ∝ p(theta) p(y | X, theta)`` (the fully Bayesian GP), in float64; chains start
  at the kernel's initial values plus 0.1 standard normal noise, and the posterior predicts with
  the equal mixture of the closed-form Gaussians, one per draw.

A NumPyro model takes its inputs as keyword arguments, so there is no ``x`` for ``predict``:
:meth:`NumPyroPosterior.predictive` runs ``numpyro.infer.Predictive`` over the draws with new
keyword arguments and returns the draws of one site as a sample :class:`~uqlab.predictive.Predictive`
(for the diagnostics). A log density has no predictive at all (``predict`` raises).
``samples()``, ``quantity(site)``, ``to_arviz()`` and ``save`` work for all three.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from uqlab.inference.base import ParticlePosterior, check_dataset, check_model
from uqlab.predictive import Predictive

__all__ = ["LogDensity", "NumPyroModel", "NumPyroPosterior", "Target", "make_target"]


@dataclasses.dataclass(frozen=True)
class LogDensity:
    """A user log density for NUTS/HMC: ``uqlab.fit(LogDensity(fn, params0), None, "nuts")``.

    Args:
        fn: JAX-traceable ``params -> scalar`` unnormalised log density over a pytree.
        initial_params: one params pytree; chain ``c`` starts at it plus ``init_jitter`` times
            standard normal noise.
        init_jitter: spread of the chains' starting points (>= 0).
    """

    fn: Callable
    initial_params: Any
    init_jitter: float = 0.1

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn: expected a callable params -> log density, got {type(self.fn).__name__}")
        if not self.init_jitter >= 0:
            raise ValueError(f"init_jitter: expected a value >= 0, got {self.init_jitter!r}")

    def quantities(self, params) -> dict:
        """The parameters themselves, so ``posterior.quantity(name)`` works on a dict of params."""
        return params if isinstance(params, dict) else {"params": params}


@dataclasses.dataclass(frozen=True)
class NumPyroModel:
    """A NumPyro model function as a fitted model; its sites are its quantities."""

    fn: Callable

    def quantities(self, params) -> dict:
        """The sampled sites (constrained), so ``posterior.quantity(site)`` works."""
        return params


@dataclasses.dataclass(repr=False)
class NumPyroPosterior(ParticlePosterior):
    """Draws of a NumPyro model's latent sites (constrained), with a posterior predictive by site."""

    @classmethod
    def _from_state(cls, common: dict, state: dict):
        """Rebuild; a model function handed to ``uqlab.load(path, model=fn)`` is wrapped as :class:`NumPyroModel`."""
        model = common["model"]
        model = model if dataclasses.is_dataclass(model) else NumPyroModel(model)
        return super()._from_state({**common, "model": model}, state)

    def predict(self, x=None, **kwargs):
        """Not available: a NumPyro model's inputs are keyword arguments; see :meth:`predictive`."""
        raise TypeError(
            f"predict: the model ({getattr(self.model.fn, '__name__', 'NumPyro model')}) takes its inputs as "
            "keyword arguments, not an x; use posterior.predictive(site, **model_kwargs), e.g. "
            "predictive('y', x=x_new, y=None)"
        )

    def predictive(self, site: str, *, key=0, num_samples: int | None = None, **model_kwargs) -> Predictive:
        """Posterior predictive draws of ``site`` given new model arguments, as a sample Predictive.

        Runs the model once per posterior draw ``theta_s`` with its latent sites set to ``theta_s``
        (``numpyro.infer.Predictive``), so an observed site left as None is drawn from
        ``p(y | theta_s, model_kwargs)``: the members are samples of ``p(y | D, model_kwargs)``.

        Args:
            site: the site to return (an observed site, a deterministic site or a latent one).
            key: randomness of the draws (same key, same numbers).
            num_samples: use this many posterior draws (evenly thinned); None uses all.
            **model_kwargs: the model's keyword arguments (new inputs; the observed site as None).

        Returns:
            A :class:`~uqlab.predictive.Predictive` of samples (``scale=None``), ``loc`` of shape
            ``(S, N, D)``: the site's first axis after the draw is N, the rest flattened into D.
        """
        import jax
        from numpyro.infer import Predictive as NumPyroPredictive

        from uqlab._convert import as_key
        from uqlab._validate import check_positive_int

        check_positive_int("num_samples", num_samples, allow_none=True)
        latent = self._selected(num_samples)
        draws = {**latent, **NumPyroPredictive(self.model.fn, posterior_samples=latent)(as_key(key), **model_kwargs)}
        if site not in draws:
            raise KeyError(f"site: expected one of the model's sites {sorted(draws)}, got {site!r}")
        values = np.asarray(jax.device_get(draws[site]), np.float64)
        values = values.reshape(values.shape[0], 1, 1) if values.ndim == 1 else values
        return Predictive(values.reshape(*values.shape[:2], -1), None)


class Target(NamedTuple):
    """A sampler target; see the module docstring."""

    logdensity: Callable
    init: Callable  # chain keys (C, 2) -> initial positions with a leading chain axis
    constrain: Callable
    posterior: Callable
    training_logdensity: Callable | None = None
    """``(params, key) -> log density``: the model's stochastic training objective (for example
    resampled collocation points), climbed by ``init="map"``; None: ``logdensity``."""
    precision: Callable = contextlib.nullcontext
    """A context manager the sampler runs in (float64 for GPs)."""


def _uqlab_target(model, data, label: str) -> Target:
    import jax

    from uqlab._convert import to_jax
    from uqlab.models.base import log_joint

    check_model(model, label)
    data = check_dataset(data)
    x, y = to_jax(data.standardized())
    batch = {"x": x, "y": y}
    return Target(
        logdensity=lambda params: log_joint(model, params, batch, data.num_points),
        init=jax.jit(jax.vmap(model.init)),
        constrain=lambda params: params,
        posterior=lambda method, particles, chains, stats: ParticlePosterior(
            method, model, data.scaler, {}, particles=particles, num_chains=chains, sample_stats=stats
        ),
        training_logdensity=lambda params, key: log_joint(model, params, batch, data.num_points, key=key),
    )


def _numpyro_target(fn, data, label: str) -> Target:
    import jax
    from numpyro.infer.util import initialize_model

    if not isinstance(data, dict):
        raise TypeError(
            f"data: {label} of a NumPyro model takes its data as a dict of the model's keyword arguments, "
            f"got {type(data).__name__}"
        )

    def info(key):
        return initialize_model(key, fn, model_kwargs=data, dynamic_args=False)

    model_info = info(jax.random.PRNGKey(0))
    model = NumPyroModel(fn)
    return Target(
        logdensity=lambda z: -model_info.potential_fn(z),
        init=lambda keys: info(keys).param_info.z,
        constrain=model_info.postprocess_fn,
        posterior=lambda method, particles, chains, stats: NumPyroPosterior(
            method, model, None, {}, particles=particles, num_chains=chains, sample_stats=stats
        ),
    )


def _log_density_target(model: LogDensity, data, label: str) -> Target:
    import jax
    import jax.numpy as jnp

    if data is not None:
        raise TypeError(f"data: a LogDensity carries its own data; {label} expects data=None, got {type(data).__name__}")
    start = jax.tree_util.tree_map(jnp.asarray, model.initial_params)
    leaves, treedef = jax.tree_util.tree_flatten(start)

    def init(key):
        noise = [jax.random.normal(k, a.shape, a.dtype) for k, a in zip(jax.random.split(key, len(leaves)), leaves)]
        return jax.tree_util.tree_unflatten(treedef, [a + model.init_jitter * z for a, z in zip(leaves, noise)])

    return Target(
        logdensity=model.fn,
        init=jax.jit(jax.vmap(init)),
        constrain=lambda params: params,
        posterior=lambda method, particles, chains, stats: ParticlePosterior(
            method, model, None, {}, particles=particles, num_chains=chains, sample_stats=stats
        ),
    )


def _gp_target(model, data, label: str) -> Target:
    import jax
    import jax.numpy as jnp

    from uqlab.inference.gp import GPPosterior, check_gp_model

    data = check_dataset(data)
    check_gp_model(model, label, data)
    x, y = (np.asarray(a, np.float64) for a in data.standardized())

    def init(keys):
        centre = model.init()

        def jittered(key):
            leaves, structure = jax.tree_util.tree_flatten(centre)
            noise = [jax.random.normal(k, a.shape, a.dtype) for k, a in zip(jax.random.split(key, len(leaves)), leaves)]
            return jax.tree_util.tree_unflatten(structure, [c + 0.1 * z for c, z in zip(leaves, noise)])

        return jax.vmap(jittered)(keys)

    x_np, y_np = (np.asarray(a) for a in data.standardized())
    return Target(
        logdensity=lambda p: model.log_prior(p) + model.log_marginal_likelihood(p, jnp.asarray(x), jnp.asarray(y)),
        init=init,
        constrain=lambda params: params,
        posterior=lambda method, particles, chains, stats: GPPosterior(
            method, model, data.scaler, {}, hypers=particles, x_train=x_np, y_train=y_np, num_chains=chains,
            sample_stats=stats,
        ),
        precision=lambda: jax.enable_x64(True),
    )


def make_target(model, data, label: str) -> Target:
    """The :class:`Target` for ``(model, data)``; ``label`` names the method in errors."""
    from uqlab.models.gp import GP

    if isinstance(model, GP):
        return _gp_target(model, data, label)
    if isinstance(model, LogDensity):
        return _log_density_target(model, data, label)
    if isinstance(model, NumPyroModel):
        return _numpyro_target(model.fn, data, label)
    if callable(model) and not hasattr(model, "log_likelihood"):
        return _numpyro_target(model, data, label)
    return _uqlab_target(model, data, label)
