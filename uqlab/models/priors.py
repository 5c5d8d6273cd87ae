"""What a prior means in function space: draws of the prior predictive.

For a model with ``sample_prior(key) -> params`` (e.g. :class:`~uqlab.models.bnn.BayesianMLP`),
``prior_predictive`` draws ``theta_s ~ p(theta)`` and returns the mixture of
``p(y | x, theta_s)`` as a :class:`~uqlab.predictive.Predictive`, so the usual plots (mean, bands,
members as function draws via ``.loc``) show the prior before any data is seen.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_positive_int
from uqlab.data import as_2d
from uqlab.predictive import Predictive

__all__ = ["prior_predictive"]


def prior_predictive(model, x, num_draws: int = 100, key=0) -> Predictive:
    """Prior predictive at inputs ``x`` in the model's (standardised) units.

    Args:
        model: a model with ``sample_prior(key)`` and ``apply(params, x)``.
        x: inputs ``(N, d_in)`` (or ``(N,)``).
        num_draws: number of prior draws S (the Predictive's members).
        key: int seed or JAX key.

    Returns:
        A Predictive with ``S = num_draws`` members; ``loc[s]`` is the function drawn by member s.
    """
    import jax
    import jax.numpy as jnp

    from uqlab._convert import as_key

    if not hasattr(model, "sample_prior"):
        raise TypeError(f"model: expected a model with sample_prior(key), got {type(model).__name__}")
    check_positive_int("num_draws", num_draws)
    x = jnp.asarray(as_2d("x", x), jnp.result_type(float))
    draw = lambda k: model.apply(model.sample_prior(k), x)  # noqa: E731
    loc, scale = jax.vmap(draw)(jax.random.split(as_key(key), num_draws))
    return Predictive(np.asarray(loc, np.float64), np.asarray(scale, np.float64))
