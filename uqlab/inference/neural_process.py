"""Training neural processes on a task distribution, and conditioning them on a context set.

Neural processes are amortised: ``NPTrain().fit(model, tasks, key=...)`` trains on tasks sampled
from a task generator (e.g. :class:`~uqlab.problems.gp_tasks.GPTasks`), not on one dataset, and
returns an :class:`NPPosterior`. ``post.condition(x_ctx, y_ctx)`` gives a
:class:`ConditionedNP`, an ordinary :class:`~uqlab.inference.base.Posterior` whose ``predict(x)``
is a Predictive (a mixture over latent draws for latent NPs), so every diagnostic applies.

Why ``NPTrain`` is not in the single-dataset method registry: ``uqlab.fit(model, data, ...)``
means "infer from this dataset"; an NP trained on one dataset has no task distribution to learn
from, and its prediction needs a context set that ``predict(x)`` cannot supply. Its conformance
lives in ``tests/models/test_neural_process.py`` instead.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, ClassVar

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_positive, check_positive_int
from uqlab.data import Scaler, as_2d
from uqlab.inference.base import Method, Posterior, warn_numerics
from uqlab.inference.transform import scan_with_progress

__all__ = ["NPTrain", "NPPosterior", "ConditionedNP"]


@dataclasses.dataclass(frozen=True)
class NPTrain(Method):
    """Adam on the NP objective, a fresh batch of tasks each step (sampled inside the scan).

    Args:
        num_steps: Adam steps.
        batch_size: tasks per step.
        learning_rate: Adam step size.
        num_latent_samples: default number of latent draws (members) when predicting.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "np_train"
    num_steps: int = 20_000
    batch_size: int = 16
    learning_rate: float = 5e-4
    num_latent_samples: int = 32
    progress: bool | None = None

    def __post_init__(self):
        for name in ("num_steps", "batch_size", "num_latent_samples"):
            check_positive_int(name, getattr(self, name))
        check_positive("learning_rate", self.learning_rate)

    def fit(self, model, tasks, *, key=0) -> NPPosterior:
        """Train ``model`` (a NeuralProcess) on tasks from ``tasks.sample(key, batch_size)``."""
        import jax
        import optax

        from uqlab.models.neural_process import NeuralProcess

        if not isinstance(model, NeuralProcess):
            raise TypeError(
                f"model: NPTrain needs a uqlab.models.neural_process.NeuralProcess, got {type(model).__name__}"
            )
        if not hasattr(tasks, "sample"):
            raise TypeError(
                f"tasks: expected a task generator with sample(key, batch_size), got {type(tasks).__name__}"
            )
        start = time.perf_counter()
        init_key, steps_key, predict_key = jax.random.split(as_key(key), 3)
        params = model.init(init_key)
        optimizer = optax.adam(self.learning_rate)

        def batch_loss(params, k):
            task_key, loss_key = jax.random.split(k)
            batch = tasks.sample(task_key, self.batch_size)
            keys = jax.random.split(loss_key, self.batch_size)
            return jax.numpy.mean(jax.vmap(model.loss, in_axes=(None, 0, 0))(params, batch, keys))

        def step(carry, k):
            params, opt_state = carry
            value, grads = jax.value_and_grad(batch_loss)(params, k)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        (params, _), losses = scan_with_progress(
            step, (params, optimizer.init(params)), jax.random.split(steps_key, self.num_steps),
            num_steps=self.num_steps, desc=f"NPTrain {model.kind}", progress=self.progress,
        )
        warn_numerics("NPTrain", losses[-1:], "the training loss")
        info = {"fit_seconds": time.perf_counter() - start, "losses": losses}
        return NPPosterior(self, model, params, predict_key, info)


@dataclasses.dataclass
class NPPosterior:
    """A trained neural process: condition it on a context set, then predict.

    Attributes:
        method, model: the training settings and the NeuralProcess.
        params: trained parameters.
        predict_key: default key for latent draws (repeated predictions give identical numbers).
        info: ``fit_seconds`` and the training ``losses``.
    """

    method: NPTrain
    model: Any
    params: Any
    predict_key: Any
    info: dict = dataclasses.field(default_factory=dict)

    def condition(self, x_ctx, y_ctx) -> ConditionedNP:
        """The predictive given context ``(x_ctx, y_ctx)`` (rows are points; may be empty for latent NPs).

        Raises:
            ValueError: mismatched lengths or widths, NaN, or an empty context for a CNP.
        """
        x_ctx = _context("x_ctx", x_ctx, self.model.d_x)
        y_ctx = _context("y_ctx", y_ctx, self.model.d_y)
        if len(x_ctx) != len(y_ctx):
            raise ValueError(f"x_ctx, y_ctx: expected the same number of points, got {len(x_ctx)} and {len(y_ctx)}")
        if len(x_ctx) == 0 and not self.model.is_latent:
            raise ValueError("x_ctx: a conditional NP needs at least one context point (a latent NP "
                             "predicts its prior from an empty context), got 0 points")
        d_x, d_y = self.model.d_x, self.model.d_y
        return ConditionedNP(self.method, self.model, Scaler.identity(d_x, d_y), dict(self.info),
                             params=self.params, x_ctx=x_ctx, y_ctx=y_ctx, predict_key=self.predict_key)


def _context(name: str, array, width: int) -> np.ndarray:
    """A context array as ``(n, width)`` float64 (``n`` may be 0; 1-D means one column)."""
    array = np.asarray(array, np.float64)
    array = array.reshape(-1, width) if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{name}: expected shape (n, {width}), got {array.shape}")
    return as_2d(name, array) if len(array) else array


@dataclasses.dataclass(repr=False)
class ConditionedNP(Posterior):
    """A neural process conditioned on a context set; ``predict(x)`` as for any Posterior."""

    params: Any = None
    x_ctx: np.ndarray | None = None
    y_ctx: np.ndarray | None = None
    predict_key: Any = None

    @property
    def num_members(self) -> int:
        return self.method.num_latent_samples if self.model.is_latent else 1

    def _member_outputs(self, x, num_samples, key):
        key = self.predict_key if key is None else as_key(key)
        # Pad the context to a power of two so that contexts of similar size share one compilation.
        n = len(self.x_ctx)
        size = max(1, 1 << (n - 1).bit_length()) if n else 1
        pad = lambda a: np.concatenate([a, np.zeros((size - n, a.shape[1]))]).astype(np.float32)  # noqa: E731
        mask = np.arange(size) < n
        samples = num_samples or self.num_members
        loc, scale = _predictor(self.model, samples if self.model.is_latent else 1)(
            self.params, pad(self.x_ctx), pad(self.y_ctx), mask, np.asarray(x, np.float32), key
        )
        return np.asarray(loc), np.asarray(scale)

    def _quantity_draws(self) -> dict:
        return {}


@functools.lru_cache(maxsize=32)
def _predictor(model, num_samples: int):
    import jax

    return jax.jit(lambda p, xc, yc, m, xt, k: model.predict(p, xc, yc, m, xt, k, num_samples))
