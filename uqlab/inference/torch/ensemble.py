"""Deep ensembles of a torch module (Lakshminarayanan, Pritzel & Blundell, 2017) with ``torch.func``.

The same method as :class:`~uqlab.inference.ensemble.DeepEnsemble` for a
:class:`~uqlab.models.torch.TorchModel`: K copies of the module, each re-initialised with its own
seed, trained together (stacked state, ``vmap``, ``functional_call``; see
:mod:`uqlab.inference.torch._train`) on the negative log joint; the prediction is the uniform
mixture of the K members' Gaussians.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

from uqlab._validate import check_choice
from uqlab.inference.base import Capabilities, Method, check_dataset
from uqlab.inference.map_training import check_map_settings
from uqlab.inference.torch.posterior import TorchParticlePosterior

__all__ = ["TorchEnsemble", "check_torch_model", "check_torch_map_settings"]


def check_torch_map_settings(method) -> None:
    """:func:`~uqlab.inference.map_training.check_map_settings` plus the torch ``init`` choice."""
    from uqlab.models.torch.model import INITS  # loads uqlab.models (JAX) only when a method is made

    check_map_settings(method)
    check_choice("init", method.init, INITS)


def check_torch_model(model, method: str):
    """The model as a :class:`~uqlab.models.torch.TorchModel` (a bare module gets the default likelihood)."""
    from uqlab.models.torch.model import TorchModel, is_module

    if isinstance(model, TorchModel):
        return model
    if is_module(model) or callable(model) and not hasattr(model, "log_likelihood"):
        return TorchModel(model)
    raise TypeError(f"model: {method} fits a torch.nn.Module (or uqlab.models.torch.TorchModel), "
                    f"got {type(model).__name__}; for a uqlab JAX model use the method without the 'torch_' prefix")


@dataclasses.dataclass(frozen=True)
class TorchEnsemble(Method):
    """Deep ensemble of a torch module; settings as :class:`~uqlab.inference.ensemble.DeepEnsemble`.

    Args:
        num_members: ensemble size K.
        num_steps: Adam steps per member.
        learning_rate: Adam learning rate.
        batch_size: minibatch size, or None for full-batch training.
        schedule: "constant" or "cosine" (decay to 1 %).
        init: how member k (seed ``key + k``) starts: ``"bayesian_mlp"`` (default) re-draws the
            module's weight layers as :meth:`BayesianMLP.init <uqlab.models.BayesianMLP.init>`
            (LeCun-normal weights, N(0, 1) hidden biases, zero output bias), as the JAX ensemble
            starts its members; ``"module"`` keeps the module's own initialisation scheme
            (``reset_parameters``, or a new call of the factory). See
            :func:`~uqlab.models.torch.model.bayesian_mlp_init`.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "torch_ensemble"
    capabilities: ClassVar[Capabilities] = Capabilities(model="torch")
    num_members: int = 5
    num_steps: int = 2000
    learning_rate: float = 1e-2
    batch_size: int | None = None
    schedule: str = "constant"
    init: str = "bayesian_mlp"
    progress: bool | None = None

    def __post_init__(self):
        check_torch_map_settings(self)

    def fit(self, model, data, *, key=0) -> TorchParticlePosterior:
        """Train the K members together and return them as a :class:`TorchParticlePosterior`."""
        from uqlab.inference.torch._train import as_numpy, train_members
        from uqlab.models.torch.model import torch_seed

        model = check_torch_model(model, "torch_ensemble")
        data = check_dataset(data)
        start = time.perf_counter()
        _, params, buffers, losses = train_members(
            model, data, seed=torch_seed(key), num_members=self.num_members, num_steps=self.num_steps,
            learning_rate=self.learning_rate, batch_size=self.batch_size, schedule=self.schedule, dropout=False,
            desc="TorchEnsemble", progress=self.progress, init=self.init,
        )
        info = {"fit_seconds": time.perf_counter() - start, "losses": losses, "final_loss": losses[-1].tolist()}
        return TorchParticlePosterior(self, model, data.scaler, info, particles=as_numpy(params),
                                      buffers=as_numpy(buffers))
