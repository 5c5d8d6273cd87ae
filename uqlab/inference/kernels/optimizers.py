"""Optimiser kernels via optax: a first-order descent step (Adam and friends) and L-BFGS.

* :func:`descent`: ``theta <- theta + optimizer.update(grad L(theta; batch, key))`` for any optax
  optimiser, on a loss ``L(params, batch, key)`` whose minibatch (``batch["data"]``) and key come
  from the driver (the key drives dropout masks or resampled collocation points).
* :func:`lbfgs`: optax's L-BFGS (Liu & Nocedal, 1989; memory 10) with a zoom line search for the
  strong Wolfe conditions (Nocedal & Wright, 2006, Alg. 3.5) on a deterministic loss. Each
  line-search trial evaluates value and gradient once; the next step reuses the accepted trial's
  (``optax.value_and_grad_from_state``).
* :func:`adam`: Adam (Kingma & Ba, 2015) with a constant step or one cosine-decayed to 1 % over
  the run (Loshchilov & Hutter, 2017), which settles the final iterates at a mode rather than at
  Adam's noise floor around it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from uqlab._validate import check_choice
from uqlab.inference.transform import Transform

__all__ = ["SCHEDULES", "OptimState", "DescentInfo", "LBFGSInfo", "adam", "descent", "lbfgs"]

SCHEDULES = ("constant", "cosine")
"""Step-size schedules of :func:`adam`."""


class OptimState(NamedTuple):
    """Parameters and the optimiser's state."""

    params: Any
    opt_state: Any


class DescentInfo(NamedTuple):
    """The loss before the step."""

    loss: Any


class LBFGSInfo(NamedTuple):
    """The loss before the step and the line-search trials it took (gradient evaluations)."""

    loss: Any
    num_linesearch_steps: Any


def adam(learning_rate: float, num_steps: int, schedule: str = "constant"):
    """optax Adam with a ``"constant"`` or ``"cosine"`` (decayed to 1 % over ``num_steps``) step."""
    import optax

    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "cosine":
        learning_rate = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.01)
    return optax.adam(learning_rate)


def descent(loss_fn, optimizer) -> Transform:
    """One ``optimizer`` step per update on ``loss_fn(params, batch, key)``."""
    import jax
    import optax

    def init(params, key=None):
        del key
        return OptimState(params, optimizer.init(params))

    def update(key, state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(state.params, batch, key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        return OptimState(optax.apply_updates(state.params, updates), opt_state), DescentInfo(loss)

    return Transform(init, update)


def lbfgs(loss_fn) -> Transform:
    """One L-BFGS step with a zoom line search per update on a deterministic ``loss_fn(params)``."""
    import optax

    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss_fn)

    def init(params, key=None):
        del key
        return OptimState(params, optimizer.init(params))

    def update(key, state, batch=None):
        del key, batch
        loss, grads = value_and_grad(state.params, state=state.opt_state)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params, value=loss, grad=grads,
                                              value_fn=loss_fn)
        info = LBFGSInfo(loss, optax.tree.get(opt_state, "num_linesearch_steps"))
        return OptimState(optax.apply_updates(state.params, updates), opt_state), info

    return Transform(init, update)
