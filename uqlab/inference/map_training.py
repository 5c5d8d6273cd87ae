"""Maximum-a-posteriori training of K independent members at once, through the driver.

Deep ensembles, MC dropout (K = 1) and the MAP stage of Laplace share this loop: each member
minimises the negative log joint per data point, ``-(log p(theta) + sum_n log p(y_n | theta)) / N``
(the prior acts as weight decay), with optax Adam (:mod:`uqlab.inference.kernels.optimizers`),
full-batch or on minibatches drawn without replacement by the driver.
"""

from __future__ import annotations

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.data import Dataset
from uqlab.inference.driver import Session, check_finite, leaves_of
from uqlab.inference.kernels.optimizers import SCHEDULES, adam, descent

__all__ = ["SCHEDULES", "fit_map", "check_map_settings"]


def check_map_settings(method) -> None:
    """Check the settings of a MAP-trained method (ensembles and MC dropout, JAX and torch alike).

    Validates ``num_steps``, ``learning_rate``, ``batch_size`` and ``schedule``, and whichever of
    ``num_members``, ``dropout_rate``, ``num_passes`` and ``noise_precision`` the method has;
    raises a ValueError or TypeError naming the setting.
    """
    for name in ("num_members", "num_passes"):
        if hasattr(method, name):
            check_positive_int(name, getattr(method, name))
    rate = getattr(method, "dropout_rate", None)
    if rate is not None and not 0 < rate < 1:
        raise ValueError(f"dropout_rate: expected a value in (0, 1) or None, got {rate!r}")
    check_positive("noise_precision", getattr(method, "noise_precision", None), allow_none=True)
    check_positive_int("num_steps", method.num_steps)
    check_positive("learning_rate", method.learning_rate)
    check_positive_int("batch_size", method.batch_size, allow_none=True)
    check_choice("schedule", method.schedule, SCHEDULES)


def fit_map(session: Session, model, data: Dataset, key, *, num_members: int, num_steps: int, learning_rate: float,
            batch_size: int | None, train: bool, schedule: str = "constant", vectorize: bool = True,
            phase: str = ""):
    """Train ``num_members`` MAP estimates of ``model`` from independent initialisations.

    Args:
        session: the fit's driver session.
        model: a model under the JAX contract.
        data: the dataset (fitted in standardised units).
        key: JAX key; member ``k`` uses an independent stream.
        num_members: K.
        num_steps: Adam steps.
        learning_rate: Adam step size (the peak one under a schedule).
        batch_size: minibatch size (drawn without replacement each step) or None for full batch.
        train: pass ``train=True`` (dropout on) to the model during training.
        schedule: one of :data:`SCHEDULES` (see :func:`~uqlab.inference.kernels.optimizers.adam`).
        vectorize: train the members together under ``vmap`` (True) or one after another within
            each step (``lax.map``; faster on CPU when batching slows the model's gradient, as
            for physics-informed networks). The numbers agree up to float rounding.
        phase: name of the driver phase.

    Returns:
        ``(params, losses)``: params with leading axis K; losses ``(num_steps, K)`` numpy.

    Raises:
        FloatingPointError: the loss or the parameters became non-finite, or the loss diverged.
    """
    import jax

    from uqlab._convert import to_jax
    from uqlab.data import check_batch_size, draw_minibatch
    from uqlab.models.base import log_joint

    x, y = to_jax(data.standardized())
    n = data.num_points
    check_batch_size(batch_size, n)

    def loss(params, batch, dropout_key):
        return -log_joint(model, params, batch["data"], n, key=dropout_key, train=train) / n

    kernel = descent(loss, adam(learning_rate, num_steps, schedule))
    init_key, steps_key = jax.random.split(key)
    params = jax.jit(jax.vmap(model.init))(jax.random.split(init_key, num_members))
    state, _, infos = session.run(
        kernel, jax.jit(jax.vmap(kernel.init))(params), steps_key, num_steps=num_steps, phase=phase, members=num_members,
        vectorize=vectorize, draw_batch=lambda k: draw_minibatch(k, x, y, batch_size), loss=lambda i: i.loss,
    )
    check_finite(session.label, leaves_of(state.params), "the parameters", "learning_rate")
    return state.params, infos.loss
