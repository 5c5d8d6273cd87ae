"""Stochastic-gradient MCMC kernels via BlackJAX: SGLD and SGHMC.

Both follow a noisy gradient of the log posterior estimated on the minibatch ``batch["data"]``,
``grad log p(theta) + (N / |B|) sum_{b in B} grad log p(y_b | theta)`` (the log density passed in
does the rescaling), with the step size ``eps = batch["step_size"]`` from the driver's schedule:

* SGLD (Welling & Teh, 2011): ``theta <- theta + eps grad + sqrt(2 eps) xi``.
* SGHMC (Chen, Fox & Guestrin, 2014, in the parameterisation of Ma, Chen & Fox, 2015): a fresh
  momentum, then ``L`` steps of ``theta <- theta + eps r``,
  ``r <- (1 - alpha eps) r + eps grad + sqrt(2 alpha eps) xi`` with friction ``alpha``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from uqlab.inference.transform import Transform

__all__ = ["SGState", "SGInfo", "sgld", "sghmc"]


class SGState(NamedTuple):
    """The chain's position."""

    position: Any


class SGInfo(NamedTuple):
    """SG-MCMC reports nothing per step."""


def _sg_transform(kernel, logdensity_fn, *extra) -> Transform:
    import jax

    grad_fn = jax.grad(logdensity_fn)

    def init(position, key=None):
        del key
        return SGState(position)

    def update(key, state, batch):
        position = kernel(key, state.position, grad_fn, batch["data"], batch["step_size"], *extra)
        return SGState(position), SGInfo()

    return Transform(init, update)


def sgld(logdensity_fn) -> Transform:
    """SGLD on ``logdensity_fn(params, minibatch)`` (rescaled to the full data set)."""
    import blackjax

    return _sg_transform(blackjax.sgld.build_kernel(), logdensity_fn)


def sghmc(logdensity_fn, *, friction: float, num_integration_steps: int) -> Transform:
    """SGHMC with friction ``alpha`` and ``L`` steps per momentum refresh."""
    import blackjax

    return _sg_transform(blackjax.sghmc.build_kernel(alpha=friction), logdensity_fn, num_integration_steps)
