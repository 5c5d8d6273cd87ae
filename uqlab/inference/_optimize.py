"""Maximum-a-posteriori training of K independent members at once (vmap over members, scan over steps).

Deep ensembles, MC dropout (K = 1) and later the MAP stage of Laplace share this loop: each member
minimises the negative log joint per data point, ``-(log p(theta) + sum_n log p(y_n | theta)) / N``
(the prior acts as weight decay), with optax Adam, full-batch or on minibatches.
"""

from __future__ import annotations

import numpy as np

from uqlab.data import Dataset
from uqlab.inference.base import warn_numerics
from uqlab.inference.transform import scan_with_progress

__all__ = ["fit_map"]


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
):
    """Train ``num_members`` MAP estimates of ``model`` from independent initialisations.

    Args:
        model: a model under the JAX contract.
        data: the dataset (fitted in standardised units).
        key: JAX key; member ``k`` uses an independent stream.
        num_members: K.
        num_steps: Adam steps.
        learning_rate: Adam step size.
        batch_size: minibatch size (drawn without replacement each step) or None for full batch.
        train: pass ``train=True`` (dropout on) to the model during training.
        progress: progress bar setting.
        desc: progress-bar label.

    Returns:
        ``(params, losses)``: params with leading axis K; losses ``(num_steps, K)`` numpy.
    """
    import jax
    import optax

    from uqlab._convert import to_jax
    from uqlab.data import check_batch_size, draw_minibatch
    from uqlab.models.base import log_joint

    x, y = to_jax(data.standardized())
    n = data.num_points
    check_batch_size(batch_size, n)
    optimizer = optax.adam(learning_rate)

    def loss_fn(params, step_key):
        batch_key, dropout_key = jax.random.split(step_key)
        batch = draw_minibatch(batch_key, x, y, batch_size)
        return -log_joint(model, params, batch, n, key=dropout_key, train=train) / n

    def init_member(member_key):
        params = model.init(member_key)
        return params, optimizer.init(params)

    def step_member(carry, step_key):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, step_key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    init_key, steps_key = jax.random.split(key)
    carry = jax.vmap(init_member)(jax.random.split(init_key, num_members))
    step_keys = jax.random.split(steps_key, num_steps * num_members).reshape(num_steps, num_members, -1)
    (params, _), losses = scan_with_progress(
        jax.vmap(step_member), carry, step_keys, num_steps=num_steps, desc=desc, progress=progress
    )
    warn_numerics(desc, losses[-1], "the training loss")
    warn_numerics(desc, np.concatenate([np.ravel(a) for a in jax.tree_util.tree_leaves(jax.device_get(params))]), "the parameters")
    return params, losses
