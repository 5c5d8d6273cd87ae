"""Gaussian variational-inference kernels via BlackJAX: mean-field and full-rank.

``q(theta) = N(mu, Sigma)`` over the flattened parameters with ``Sigma = diag(sigma^2)``
(mean-field; Blundell et al., 2015) or ``Sigma = L L^T`` with a dense Cholesky factor (full-rank;
Titsias & Lazaro-Gredilla, 2014). One update is one Adam step on the reparameterised
(Kingma & Welling, 2014), sticking-the-landing (Roeder et al., 2017) estimate of the ELBO

    ELBO(q) = E_q[log p(theta; batch)] + H[q]

with ``log p(theta; batch)`` the log density on the driver's minibatch ``batch["data"]`` (rescaled
to the full data set, so the estimate is unbiased). The state starts at ``mu`` = the given
position (a symmetry-breaking network initialisation, not BlackJAX's zeros) and
``sigma = init_scale``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from uqlab.inference.transform import Transform

__all__ = ["VIInfo", "meanfield_vi", "fullrank_vi", "cholesky_factor", "gaussian_moments"]


class VIInfo(NamedTuple):
    """The step's ELBO estimate."""

    elbo: Any


def _vi_transform(module, logdensity_fn, optimizer, num_elbo_samples: int, start) -> Transform:
    def init(position, key=None):
        del key
        return start(module.init(position, optimizer), position)

    def update(key, state, batch):
        logdensity = lambda params: logdensity_fn(params, batch["data"])  # noqa: E731
        state, info = module.step(key, state, logdensity, optimizer, num_samples=num_elbo_samples)
        return state, VIInfo(-info.elbo)  # BlackJAX reports the loss E_q[log q - log p] = -ELBO

    return Transform(init, update)


def meanfield_vi(logdensity_fn, optimizer, *, num_elbo_samples: int, init_scale: float) -> Transform:
    """Mean-field Gaussian VI on ``logdensity_fn(params, minibatch)`` with an optax ``optimizer``."""
    import jax
    import jax.numpy as jnp
    from blackjax.vi import meanfield_vi as module

    def start(state, params):
        rho = jax.tree_util.tree_map(lambda a: jnp.full_like(a, jnp.log(init_scale)), params)
        return state._replace(mu=params, rho=rho, opt_state=optimizer.init((params, rho)))

    return _vi_transform(module, logdensity_fn, optimizer, num_elbo_samples, start)


def fullrank_vi(logdensity_fn, optimizer, *, num_elbo_samples: int, init_scale: float) -> Transform:
    """Full-rank Gaussian VI (``P (P + 1) / 2`` scale parameters); settings as :func:`meanfield_vi`."""
    import jax
    import jax.numpy as jnp
    from blackjax.vi import fullrank_vi as module

    def start(state, params):
        dim = jax.flatten_util.ravel_pytree(params)[0].shape[0]
        chol = state.chol_params.at[:dim].set(jnp.log(init_scale))
        return state._replace(mu=params, chol_params=chol, opt_state=optimizer.init((params, chol)))

    return _vi_transform(module, logdensity_fn, optimizer, num_elbo_samples, start)


def cholesky_factor(chol_params, dim: int):
    """``L`` from BlackJAX's full-rank parameters: ``log diag(L)`` first, then the strict lower
    triangle row by row (``numpy.tril_indices`` order)."""
    import jax.numpy as jnp

    lower = jnp.zeros((dim, dim)).at[jnp.tril_indices(dim, k=-1)].set(chol_params[dim:])
    return lower + jnp.diag(jnp.exp(chol_params[:dim]))


def gaussian_moments(state) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(P,)`` and covariance ``(P, P)`` (mean-field: its diagonal ``(P,)``) of the flattened params."""
    import jax
    import jax.numpy as jnp

    mean = jax.flatten_util.ravel_pytree(state.mu)[0]
    if hasattr(state, "rho"):
        return np.asarray(mean), np.asarray(jnp.exp(2 * jax.flatten_util.ravel_pytree(state.rho)[0]))
    chol = cholesky_factor(state.chol_params, mean.shape[0])
    return np.asarray(mean), np.asarray(chol @ chol.T)
