"""The JAX model contract every inference method relies on.

A model is a frozen, hashable description (settings only); its learnable state is a separate
``params`` pytree, so methods can vmap over members, chains and draws freely.

.. code-block:: text

    init(key) -> params
    apply(params, x, *, key=None, train=False) -> (loc, scale)      each (N, d_out)
    log_prior(params) -> scalar
    log_likelihood(params, batch, *, key=None, train=False) -> (N,)  one term per data point
    quantities(params) -> dict[str, array]                          named physical quantities

``batch`` is a dict with at least ``"x"`` and ``"y"`` (standardised units). A model may add a
term that does not belong to any data point (a physics residual at collocation points, say) by
overriding :meth:`Model.log_extra`; :func:`log_joint` is the one place that assembles the
(minibatch-rescaled) log joint density for every method.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

__all__ = ["Model", "log_joint"]


@dataclasses.dataclass(frozen=True)
class Model:
    """Base class: subclasses implement ``init``, ``apply``, ``log_prior``, ``log_likelihood``."""

    def init(self, key):  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, params, x, *, key=None, train=False):  # pragma: no cover - interface
        raise NotImplementedError

    def log_prior(self, params):  # pragma: no cover - interface
        raise NotImplementedError

    def log_likelihood(self, params, batch, *, key=None, train=False):  # pragma: no cover
        raise NotImplementedError

    def log_extra(self, params, *, key=None, train=False):
        """Log-density terms not tied to data points (none by default).

        ``key`` and ``train`` are those given to :meth:`log_likelihood` (stochastic layers such
        as dropout are on only when ``train`` is true and a key is given; a key alone marks a
        stochastic training step, in which a model may also resample its own points).
        """
        del params, key, train
        return jnp.zeros(())

    def quantities(self, params) -> dict:
        """Named quantities of interest (e.g. an inferred PDE coefficient); none by default."""
        del params
        return {}

    def replace(self, **changes):
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)


def log_joint(model: Model, params, batch: dict, num_points: int, *, key=None, train=False):
    """Unnormalised log posterior ``log p(theta) + (N / B) sum_b log p(y_b | theta) + extra``.

    Args:
        model: the model.
        params: its parameters.
        batch: a (mini)batch dict with ``"x"`` and ``"y"`` of B rows.
        num_points: N, the size of the full training set (rescales a minibatch sum).
        key, train: passed to the model (dropout).
    """
    log_lik = model.log_likelihood(params, batch, key=key, train=train)
    rescale = num_points / log_lik.shape[0]
    return model.log_prior(params) + rescale * jnp.sum(log_lik) + model.log_extra(params, key=key, train=train)
