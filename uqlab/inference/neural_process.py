"""Training neural processes (Garnelo et al., 2018a, b; Kim et al., 2019) and conditioning them.

Neural processes are amortised: ``NPTrain`` minimises the NP objective (the model's ``loss``)
with Adam over batches of tasks, a fresh batch per step drawn by the driver from a task generator
with ``sample(key, batch_size)`` (e.g. :class:`~uqlab.problems.gp_tasks.GPTasks`). The result is an
:class:`NPPosterior`: ``post.condition(x_ctx, y_ctx).predict(x)`` is a Predictive (a mixture
over latent draws for latent NPs), so every diagnostic applies.

Given a :class:`~uqlab.data.Dataset` instead (``uqlab.fit(np_model, data, "np_train")``), the
tasks are random context/target subsets of its standardised points (:class:`DatasetTasks`),
and the posterior is conditioned on the whole training set, so ``predict(x)`` works at once:
a neural process fitted to one function, as any registered method is.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_positive, check_positive_int
from uqlab.data import Dataset, Scaler, as_2d
from uqlab.inference.base import Capabilities, Method, Posterior
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.kernels.optimizers import descent

__all__ = ["NPTrain", "NPPosterior", "DatasetTasks"]


@dataclasses.dataclass(frozen=True)
class DatasetTasks:
    """Tasks from one dataset: ``max_points`` random points, the first ``n_c`` of them the context.

    ``n_c`` is uniform on ``[1, max_points // 2]`` and the targets are the first ``n_t`` points,
    ``n_t`` uniform on ``(n_c, max_points]`` (targets include the context, as in NP training).
    """

    x: Any
    y: Any
    max_points: int = 64

    def sample(self, key, batch_size: int) -> dict:
        """A batch of tasks in the format of :meth:`~uqlab.problems.gp_tasks.GPTasks.sample`."""
        import jax

        return jax.vmap(self._one)(jax.random.split(key, batch_size))

    def _one(self, key):
        import jax
        import jax.numpy as jnp

        p = min(self.max_points, self.x.shape[0])
        order_key, context_key, target_key = jax.random.split(key, 3)
        index = jax.random.permutation(order_key, self.x.shape[0])[:p]
        n_context = jax.random.randint(context_key, (), 1, max(1, p // 2) + 1)
        n_total = jax.random.randint(target_key, (), n_context + 1, p + 1)
        position = jnp.arange(p)
        x, y = jnp.asarray(self.x)[index], jnp.asarray(self.y)[index]
        return {"x": x, "y": y, "context": position < n_context, "target": position < n_total}


@dataclasses.dataclass(frozen=True)
class NPTrain(Method):
    """Adam on the NP objective, a fresh batch of tasks each step.

    Args:
        num_steps: Adam steps.
        batch_size: tasks per step.
        learning_rate: Adam step size.
        num_latent_samples: default number of latent draws (members) when predicting.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "np_train"
    capabilities: ClassVar[Capabilities] = Capabilities(model="neural_process", draws=False, minibatch=True, resumable=True)
    num_steps: int = 20_000
    batch_size: int = 16
    learning_rate: float = 5e-4
    num_latent_samples: int = 32
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        for name in ("num_steps", "batch_size", "num_latent_samples"):
            check_positive_int(name, getattr(self, name))
        check_positive("learning_rate", self.learning_rate)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def target(self, model, data):
        """``(model, tasks, data)``: the neural process, the task generator, and the Dataset or None."""
        from uqlab.models.convcnp import ConvCNP
        from uqlab.models.neural_process import NeuralProcess

        if not isinstance(model, (NeuralProcess, ConvCNP)):
            raise TypeError(
                "model: NPTrain needs a uqlab.models.neural_process.NeuralProcess or a "
                f"uqlab.models.convcnp.ConvCNP, got {type(model).__name__}"
            )
        if isinstance(data, Dataset):
            if data.dims != (model.d_x, model.d_y):
                raise ValueError(f"data: expected (d_in, d_out) = {(model.d_x, model.d_y)} like the model, got {data.dims}")
            x, y = (np.asarray(a, np.float32) for a in data.standardized())
            return model, DatasetTasks(x, y), data
        if not hasattr(data, "sample"):
            raise TypeError(
                f"data: expected a task generator with sample(key, batch_size) or a Dataset, got {type(data).__name__}"
            )
        return model, data, None

    def infer(self, target, session, key) -> NPPosterior:
        """Train on batches of tasks; condition on the training set when it is one Dataset."""
        import jax
        import jax.numpy as jnp
        import optax

        model, tasks, data = target
        init_key, steps_key, predict_key = jax.random.split(key, 3)

        def batch_loss(params, batch, loss_key):
            keys = jax.random.split(loss_key, self.batch_size)
            return jnp.mean(jax.vmap(model.loss, in_axes=(None, 0, 0))(params, batch["data"], keys))

        kernel = descent(batch_loss, optax.adam(self.learning_rate))
        state, _, infos = session.run(
            kernel, kernel.init(model.init(init_key)), steps_key, num_steps=self.num_steps, phase=model.kind,
            draw_batch=lambda k: tasks.sample(k, self.batch_size), loss=lambda i: i.loss,
        )
        info = {"losses": infos.loss, "num_gradient_evals": self.num_steps}
        if data is None:
            return NPPosterior(self, model, Scaler.identity(model.d_x, model.d_y), info, params=state.params,
                               predict_key=predict_key)
        x, y = (np.asarray(a, np.float64) for a in data.standardized())
        return NPPosterior(self, model, data.scaler, info, params=state.params, predict_key=predict_key, x_ctx=x, y_ctx=y)


@dataclasses.dataclass(repr=False)
class NPPosterior(Posterior):
    """A trained neural process, conditioned on a context set or not yet.

    Attributes:
        params: trained parameters.
        predict_key: default key for latent draws (repeated predictions give identical numbers).
        x_ctx, y_ctx: the context in standardised units (None: not conditioned; see :meth:`condition`).
    """

    params: Any = None
    predict_key: Any = None
    x_ctx: np.ndarray | None = None
    y_ctx: np.ndarray | None = None

    @property
    def num_members(self) -> int:
        return self.method.num_latent_samples if self.model.is_latent else 1

    def condition(self, x_ctx, y_ctx) -> NPPosterior:
        """The predictive given context ``(x_ctx, y_ctx)`` in original units (rows are points; may
        be empty for latent NPs).

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
        if len(x_ctx):
            x_ctx, y_ctx = self.scaler.x(x_ctx), self.scaler.y(y_ctx)
        return dataclasses.replace(self, info=dict(self.info), x_ctx=x_ctx, y_ctx=y_ctx)

    def _member_outputs(self, x, num_samples, key):
        if self.x_ctx is None:
            raise ValueError("x_ctx: this neural process has no context yet; call condition(x_ctx, y_ctx) first")
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


def _context(name: str, array, width: int) -> np.ndarray:
    """A context array as ``(n, width)`` float64 (``n`` may be 0; 1-D means one column)."""
    array = np.asarray(array, np.float64)
    array = array.reshape(-1, width) if array.ndim == 1 else array
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"{name}: expected shape (n, {width}), got {array.shape}")
    return as_2d(name, array) if len(array) else array


@functools.lru_cache(maxsize=32)
def _predictor(model, num_samples: int):
    import jax

    return jax.jit(lambda p, xc, yc, m, xt, k: model.predict(p, xc, yc, m, xt, k, num_samples))
