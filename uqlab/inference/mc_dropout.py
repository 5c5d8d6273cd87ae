"""Monte Carlo dropout (Gal & Ghahramani, 2016).

One network is trained with dropout on its hidden units and the prior as weight decay
(``lambda = 1 / (2 N prior_scale^2)`` per point); at predict time T stochastic forward passes with
fresh masks are the mixture members, each a Gaussian with the likelihood's noise. The noise
precision ``tau`` is either fixed (``noise_precision``) or learned with the likelihood (the model's
:class:`~uqlab.models.Gaussian` with ``noise_scale=None`` or :class:`~uqlab.models.Heteroscedastic`).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from uqlab.inference.base import Capabilities, DropoutPosterior, Method, check_dataset, check_model
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.map_training import check_map_settings, fit_map

__all__ = ["MCDropout"]


@dataclasses.dataclass(frozen=True)
class MCDropout(Method):
    """MC dropout.

    Args:
        dropout_rate: drop probability of each hidden unit (None keeps the model's own rate).
        num_passes: T, stochastic forward passes at predict time.
        noise_precision: fixed tau = 1 / sigma^2 in standardised units, or None to learn the noise
            with the model's likelihood.
        num_steps: Adam steps.
        learning_rate: Adam learning rate.
        batch_size: minibatch size or None (full batch).
        schedule: "constant" learning rate or "cosine" decay to 1 % (see
            :func:`~uqlab.inference.map_training.fit_map`).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "mc_dropout"
    capabilities: ClassVar[Capabilities] = Capabilities(minibatch=True, resumable=True)
    dropout_rate: float | None = 0.1
    num_passes: int = 100
    noise_precision: float | None = None
    num_steps: int = 3000
    learning_rate: float = 5e-3
    batch_size: int | None = None
    schedule: str = "constant"
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_map_settings(self)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def prepare(self, model):
        """The model with this method's dropout rate and noise precision applied."""
        check_model(model, "MCDropout")
        if not hasattr(model, "dropout_rate"):
            raise TypeError(f"model: MCDropout needs a model with a dropout_rate setting, got {type(model).__name__}")
        if self.dropout_rate is not None:
            model = model.replace(dropout_rate=self.dropout_rate)
        if model.dropout_rate <= 0:
            raise ValueError("dropout_rate: MCDropout needs a dropout rate > 0; the model has 0 and none was given")
        if self.noise_precision is not None:
            from uqlab.models.likelihoods import Gaussian

            model = model.replace(likelihood=Gaussian(noise_scale=self.noise_precision**-0.5))
        return model

    def target(self, model, data):
        """The model with this method's dropout settings, and the dataset (checked)."""
        return self.prepare(model), check_dataset(data)

    def infer(self, target, session, key) -> DropoutPosterior:
        """Train one dropout network and return it with T predictive masks."""
        import jax

        model, data = target
        fit_key, predict_key = jax.random.split(key)
        params, losses = fit_map(
            session, model, data, fit_key, num_members=1, num_steps=self.num_steps, learning_rate=self.learning_rate,
            batch_size=self.batch_size, train=True, schedule=self.schedule,
            vectorize=False,  # one member: no batching needed
        )
        params = jax.tree_util.tree_map(lambda a: a[0], params)
        info = {"losses": losses[:, 0], "final_loss": float(losses[-1, 0]), "num_gradient_evals": self.num_steps}
        return DropoutPosterior(
            self, model, data.scaler, info, params=params, num_passes=self.num_passes, predict_key=predict_key
        )
