"""Deep ensembles (Lakshminarayanan, Pritzel & Blundell, 2017).

K networks from independent initialisations are trained together (``vmap`` over members,
``lax.scan`` over Adam steps) on the Gaussian negative log-likelihood, each predicting a mean and a
variance (use a :class:`~uqlab.models.Heteroscedastic` likelihood for input-dependent noise). The
prediction is the uniform mixture of the K Gaussians, so the total variance splits into the
spread of member means (epistemic) and the mean member variance (aleatoric).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from uqlab.inference.base import Capabilities, Method, ParticlePosterior, check_dataset, check_model
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.map_training import check_map_settings, fit_map

__all__ = ["DeepEnsemble"]


@dataclasses.dataclass(frozen=True)
class DeepEnsemble(Method):
    """Deep ensemble of MAP-trained networks.

    Args:
        num_members: ensemble size K (5 in the original paper).
        num_steps: Adam steps per member.
        learning_rate: Adam learning rate.
        batch_size: minibatch size, or None for full-batch training.
        schedule: "constant" learning rate or "cosine" decay to 1 % (see :func:`fit_map`).
        vectorize: members under ``vmap`` (True) or one after another (see :func:`fit_map`).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "ensemble"
    capabilities: ClassVar[Capabilities] = Capabilities(minibatch=True, resumable=True)
    num_members: int = 5
    num_steps: int = 2000
    learning_rate: float = 1e-2
    batch_size: int | None = None
    schedule: str = "constant"
    vectorize: bool = True
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_map_settings(self)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def target(self, model, data):
        """The uqlab model and dataset (checked)."""
        check_model(model, "DeepEnsemble")
        return model, check_dataset(data)

    def infer(self, target, session, key) -> ParticlePosterior:
        """Train the K members and return them as a :class:`ParticlePosterior`."""
        model, data = target
        params, losses = fit_map(
            session, model, data, key, num_members=self.num_members, num_steps=self.num_steps,
            learning_rate=self.learning_rate, batch_size=self.batch_size, train=False, schedule=self.schedule,
            vectorize=self.vectorize,
        )
        info = {"losses": losses, "final_loss": losses[-1].tolist(), "num_gradient_evals": self.num_steps * self.num_members}
        return ParticlePosterior(self, model, data.scaler, info, particles=params, num_chains=1)
