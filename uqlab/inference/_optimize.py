"""Maximum-a-posteriori training of K independent members at once (vmap over members, scan over steps).

Deep ensembles, MC dropout (K = 1) and later the MAP stage of Laplace share this loop: each member
minimises the negative log joint per data point, ``-(log p(theta) + sum_n log p(y_n | theta)) / N``
(the prior acts as weight decay), with optax Adam, full-batch or on minibatches.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_choice
from uqlab.data import Dataset
from uqlab.inference.base import warn_numerics
from uqlab.inference.transform import over_leading_axis, scan_with_progress

__all__ = ["SCHEDULES", "adam", "descent_step", "descend", "fit_map"]

SCHEDULES = ("constant", "cosine")
"""Step-size schedules of :func:`adam`."""


def adam(learning_rate: float, num_steps: int, schedule: str = "constant"):
    """optax Adam (Kingma & Ba, 2015) with a constant step, or one cosine-decayed to 1 % of
    ``learning_rate`` over ``num_steps`` (Loshchilov & Hutter, 2017), which settles the final
    iterates at a mode rather than at Adam's noise floor around it."""
    import optax

    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "cosine":
        learning_rate = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.01)
    return optax.adam(learning_rate)


def descent_step(loss_fn, optimizer):
    """One ``optimizer`` step on ``loss_fn(params, *args)``:
    ``(params, opt_state, *args) -> ((params, opt_state), loss)``."""
    import jax
    import optax

    def step(params, opt_state, *args):
        loss, grads = jax.value_and_grad(loss_fn)(params, *args)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def descend(loss_fn, params, key, optimizer, *, num_steps: int, desc: str, progress: bool | None = None,
            vectorize: bool | None = True):
    """``num_steps`` ``optimizer`` steps on ``loss_fn(params, step_key)`` for every member of
    ``params`` (leading axis K), a fresh key per step and member, in :func:`scan_with_progress`.

    Returns:
        ``(params, losses)``: params with leading axis K; losses ``(num_steps, K)`` numpy.
    """
    import jax

    num_members = jax.tree_util.tree_leaves(params)[0].shape[0]
    step = descent_step(loss_fn, optimizer)

    def step_member(carry, step_key):
        return step(*carry, step_key)

    keys = jax.random.split(key, num_steps * num_members).reshape(num_steps, num_members, -1)
    carry = (params, jax.vmap(optimizer.init)(params))
    (params, _), losses = scan_with_progress(
        over_leading_axis(step_member, vectorize), carry, keys, num_steps=num_steps, desc=desc, progress=progress
    )
    return params, losses


def fit_map(
    model,
    data: Dataset,
    *,
    key,
    num_members: int,
    num_steps: int,
    learning_rate: float,
    batch_size: int | None,
    train: bool,
    progress: bool | None,
    desc: str,
    schedule: str = "constant",
    vectorize: bool = True,
):
    """Train ``num_members`` MAP estimates of ``model`` from independent initialisations.

    Args:
        model: a model under the JAX contract.
        data: the dataset (fitted in standardised units).
        key: JAX key; member ``k`` uses an independent stream.
        num_members: K.
        num_steps: Adam steps.
        learning_rate: Adam step size (the peak one under a schedule).
        batch_size: minibatch size (drawn without replacement each step) or None for full batch.
        train: pass ``train=True`` (dropout on) to the model during training.
        progress: progress bar setting.
        desc: progress-bar label.
        schedule: one of :data:`SCHEDULES` (see :func:`adam`).
        vectorize: train the members together under ``vmap`` (True) or one after another within
            each step (``lax.map``; faster on CPU when batching slows the model's gradient, as
            for physics-informed networks). The numbers agree up to float rounding.

    Returns:
        ``(params, losses)``: params with leading axis K; losses ``(num_steps, K)`` numpy.
    """
    import jax

    from uqlab._convert import to_jax
    from uqlab.data import check_batch_size, draw_minibatch
    from uqlab.models.base import log_joint

    x, y = to_jax(data.standardized())
    n = data.num_points
    check_batch_size(batch_size, n)
    optimizer = adam(learning_rate, num_steps, schedule)

    def loss_fn(params, step_key):
        batch_key, dropout_key = jax.random.split(step_key)
        batch = draw_minibatch(batch_key, x, y, batch_size)
        return -log_joint(model, params, batch, n, key=dropout_key, train=train) / n

    init_key, steps_key = jax.random.split(key)
    params = jax.vmap(model.init)(jax.random.split(init_key, num_members))
    params, losses = descend(loss_fn, params, steps_key, optimizer, num_steps=num_steps, desc=desc,
                             progress=progress, vectorize=vectorize)
    warn_numerics(desc, losses[-1], "the training loss")
    warn_numerics(desc, np.concatenate([np.ravel(a) for a in jax.tree_util.tree_leaves(jax.device_get(params))]), "the parameters")
    return params, losses
