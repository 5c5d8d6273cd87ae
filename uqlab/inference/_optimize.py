"""Maximum-a-posteriori training of K independent members at once (vmap over members, scan over steps).

Deep ensembles, MC dropout (K = 1) and later the MAP stage of Laplace share this loop: each member
minimises the negative log joint per data point, ``-(log p(theta) + sum_n log p(y_n | theta)) / N``
(the prior acts as weight decay), with optax Adam, full-batch or on minibatches. NUTS's
``init="map"`` climbs to its chains' starting points with the same loop, and can finish with
:func:`minimize_lbfgs` on its deterministic log density.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_choice
from uqlab.data import Dataset
from uqlab.inference.base import warn_numerics
from uqlab.inference.transform import over_leading_axis, scan_with_progress

__all__ = ["SCHEDULES", "adam", "descent_step", "descend", "minimize_lbfgs", "fit_map"]

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


def _scan_members(step, params, optimizer, xs, *, num_steps: int, desc: str, progress, vectorize):
    """Run ``step(params, opt_state, x) -> ((params, opt_state), out)`` for every member of
    ``params`` (leading axis K) over ``xs`` (leading axes ``(num_steps, K)``) in chunked scans."""
    import jax

    def step_member(carry, x):
        return step(*carry, x)

    carry = (params, jax.vmap(optimizer.init)(params))
    (params, _), outs = scan_with_progress(
        over_leading_axis(step_member, vectorize), carry, xs, num_steps=num_steps, desc=desc, progress=progress
    )
    return params, outs


def descend(loss_fn, params, key, optimizer, *, num_steps: int, desc: str, progress: bool | None = None,
            vectorize: bool | None = True):
    """``num_steps`` ``optimizer`` steps on ``loss_fn(params, step_key)`` for every member of
    ``params`` (leading axis K), a fresh key per step and member, in :func:`scan_with_progress`.

    Returns:
        ``(params, losses)``: params with leading axis K; losses ``(num_steps, K)`` numpy.
    """
    import jax

    num_members = jax.tree_util.tree_leaves(params)[0].shape[0]
    keys = jax.random.split(key, num_steps * num_members).reshape(num_steps, num_members, -1)
    return _scan_members(descent_step(loss_fn, optimizer), params, optimizer, keys, num_steps=num_steps, desc=desc,
                         progress=progress, vectorize=vectorize)


def minimize_lbfgs(loss_fn, params, *, num_steps: int, desc: str, progress: bool | None = None,
                   vectorize: bool | None = True):
    """``num_steps`` L-BFGS steps on a deterministic ``loss_fn(params)`` for every member of ``params``.

    optax's L-BFGS (Liu & Nocedal, 1989; memory 10) with a zoom line search for the strong Wolfe
    conditions (Nocedal & Wright, 2006, Alg. 3.5). Adam followed by L-BFGS is the standard way
    to train physics-informed networks to a mode: Adam's noise floor leaves them far below it
    (for the Burgers PINN, 10,000 L-BFGS steps after 4,000 Adam steps raised the log density by
    ~1,500 nats). Each line-search trial evaluates the value and gradient once; the next step
    reuses the accepted trial's (``optax.value_and_grad_from_state``).

    Returns:
        ``(params, losses, gradient_evals)``: params with leading axis K, losses ``(num_steps, K)``
        numpy, and the total number of value-and-gradient evaluations over all members.
    """
    import jax
    import optax

    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss_fn)

    def step(params, opt_state, _):
        loss, grads = value_and_grad(params, state=opt_state)
        updates, opt_state = optimizer.update(grads, opt_state, params, value=loss, grad=grads, value_fn=loss_fn)
        return (optax.apply_updates(params, updates), opt_state), (loss, optax.tree.get(opt_state, "num_linesearch_steps"))

    num_members = jax.tree_util.tree_leaves(params)[0].shape[0]
    params, (losses, trials) = _scan_members(step, params, optimizer, np.zeros((num_steps, num_members)),
                                             num_steps=num_steps, desc=desc, progress=progress, vectorize=vectorize)
    return params, losses, int(trials.sum()) + num_members  # + each member's first evaluation


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
