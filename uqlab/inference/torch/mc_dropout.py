"""MC dropout with a torch module's own dropout layers (Gal & Ghahramani, 2016).

The same method as :class:`~uqlab.inference.mc_dropout.MCDropout` for a
:class:`~uqlab.models.torch.TorchModel`: the module is trained with its dropout layers on and the
prior as weight decay; at predict time every other layer is in eval mode and the dropout layers
stay on, and T stochastic passes are the mixture members.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

from uqlab.inference.base import Capabilities, Method, check_dataset
from uqlab.inference.torch.ensemble import check_torch_map_settings, check_torch_model
from uqlab.inference.torch.posterior import TorchDropoutPosterior, dropout_layers

__all__ = ["TorchMCDropout"]


@dataclasses.dataclass(frozen=True)
class TorchMCDropout(Method):
    """MC dropout of a torch module; settings as :class:`~uqlab.inference.mc_dropout.MCDropout`.

    Args:
        dropout_rate: set every dropout layer's ``p`` to this, or None to keep the module's rates.
        num_passes: T, stochastic forward passes at predict time.
        noise_precision: fixed tau = 1 / sigma^2 (standardised units), or None to learn the noise
            with the model's likelihood.
        num_steps, learning_rate, batch_size, schedule, init, progress: as for
            :class:`~uqlab.inference.torch.ensemble.TorchEnsemble` (``init`` of the one network).
    """

    name: ClassVar[str] = "torch_mc_dropout"
    capabilities: ClassVar[Capabilities] = Capabilities(model="torch")
    dropout_rate: float | None = None
    num_passes: int = 100
    noise_precision: float | None = None
    num_steps: int = 3000
    learning_rate: float = 5e-3
    batch_size: int | None = None
    schedule: str = "constant"
    init: str = "bayesian_mlp"
    progress: bool | None = None

    def __post_init__(self):
        check_torch_map_settings(self)

    def prepare(self, model):
        """The TorchModel with this method's dropout rate and noise precision applied."""
        import copy

        from uqlab.models.likelihoods import Gaussian

        model = check_torch_model(model, "torch_mc_dropout")
        module = model.template()
        layers = dropout_layers(module)
        if not layers:
            raise ValueError(f"model: mc_dropout needs dropout layers (torch.nn.Dropout) in the module; "
                             f"{type(module).__name__} has none")
        if self.dropout_rate is not None:
            module = copy.deepcopy(module)
            for layer in dropout_layers(module):
                layer.p = self.dropout_rate
            model = dataclasses.replace(model, module=module)
        if self.noise_precision is not None:
            model = dataclasses.replace(model, likelihood=Gaussian(noise_scale=self.noise_precision**-0.5))
        return model

    def fit(self, model, data, *, key=0) -> TorchDropoutPosterior:
        """Train one dropout network and return it with T predictive masks."""
        from uqlab.inference.torch._train import as_numpy, train_members
        from uqlab.models.torch.model import torch_seed

        model = self.prepare(model)
        data = check_dataset(data)
        seed = torch_seed(key)
        start = time.perf_counter()
        _, params, buffers, losses = train_members(
            model, data, seed=seed, num_members=1, num_steps=self.num_steps, learning_rate=self.learning_rate,
            batch_size=self.batch_size, schedule=self.schedule, dropout=True, desc="TorchMCDropout",
            progress=self.progress, init=self.init,
        )
        info = {"fit_seconds": time.perf_counter() - start, "losses": losses[:, 0], "final_loss": float(losses[-1, 0])}
        return TorchDropoutPosterior(
            self, model, data.scaler, info, params={k: v[0] for k, v in as_numpy(params).items()},
            num_passes=self.num_passes, predict_key=(seed + 1) % 2**63, buffers={k: v[0] for k, v in as_numpy(buffers).items()},
        )
