"""Posteriors of torch models: the weights live as plain numpy arrays (``{parameter name: array}``).

They predict through ``torch.func.functional_call`` on a stateless copy of the user's module, and
save and load with the netCDF format of every other posterior (:mod:`uqlab.inference.serialization`):
no pickle is ever written or read. The module itself is code, so loading needs it back:
``uqlab.load(path, model=module)`` (or a :class:`~uqlab.models.torch.TorchModel`); the likelihood
and prior settings are restored from the file.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np

from uqlab.inference.base import DropoutPosterior, ParticlePosterior

__all__ = ["TorchParticlePosterior", "TorchDropoutPosterior", "dropout_layers"]

_PASS_ROWS = 200_000
"""Rows (passes x points) per forward call of MC-dropout prediction."""


class _TorchState:
    """Persistence and module plumbing shared by the torch posteriors."""

    def _state(self) -> dict:
        from uqlab.inference.serialization import to_config

        settings = {f.name: to_config(getattr(self.model, f.name)) for f in dataclasses.fields(self.model) if f.name != "module"}
        return {**super()._state(), "model_settings": json.dumps(settings)}

    @classmethod
    def _from_state(cls, common: dict, state: dict):
        from uqlab.inference.serialization import from_config
        from uqlab.models.torch.model import TorchModel

        settings = {k: from_config(v) for k, v in json.loads(state.pop("model_settings")).items()}
        model = common["model"]
        if not isinstance(model, TorchModel):
            model = TorchModel(model, **settings)
        return super()._from_state({**common, "model": model}, state)

    @functools.cached_property
    def _base(self):
        """A stateless (meta-device) copy of the network for ``functional_call``."""
        import copy

        network = self.model.network(None, self.scaler.y_shift.shape[0])
        base = copy.deepcopy(network).to("meta")
        base.device = network.device
        base.dtype = next(network.parameters()).dtype
        return base.eval()

    def _tensors(self, tree: dict):
        import torch

        return {k: torch.as_tensor(np.asarray(v), dtype=self._base.dtype, device=self._base.device) for k, v in tree.items()}

    def _quantity_draws(self) -> dict:
        return {}


@dataclasses.dataclass(repr=False)
class TorchParticlePosterior(_TorchState, ParticlePosterior):
    """Stacked parameter sets of a torch network (ensemble members, VI draws).

    Attributes:
        particles: ``{parameter name: (S, ...) array}``, names as ``Network.named_parameters()``.
        buffers: ``{buffer name: (S, ...) array}`` (batch-norm statistics and the like).
    """

    buffers: dict = dataclasses.field(default_factory=dict)

    def _member_outputs(self, x, num_samples, key):
        import torch
        from torch.func import functional_call, vmap

        del key
        params = self._tensors(self._selected(num_samples))
        buffers = self._tensors(self.buffers) if self.buffers else {}
        if buffers and num_samples is not None and num_samples < self.num_members:
            index = np.linspace(0, self.num_members - 1, num_samples).round().astype(int)
            buffers = {k: v[index] for k, v in buffers.items()}
        (x,) = self._tensors({"x": x}).values()
        forward = lambda p, b: self.model.loc_scale(functional_call(self._base, (p, b), (x,)), p)  # noqa: E731
        with torch.no_grad():
            loc, scale = vmap(forward, in_dims=(0, 0 if buffers else None))(params, buffers)
        return loc.cpu().numpy(), scale.cpu().numpy()


def dropout_layers(module) -> list:
    """The module's dropout layers (``torch.nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``)."""
    import torch

    return [m for m in module.modules() if isinstance(m, torch.nn.modules.dropout._DropoutNd)]


@dataclasses.dataclass(repr=False)
class TorchDropoutPosterior(_TorchState, DropoutPosterior):
    """One torch parameter set; members are ``num_passes`` forward passes with the module's dropout on.

    Attributes:
        params: ``{parameter name: array}``; buffers: ``{buffer name: array}``.
        predict_key: torch seed of the predictive masks when ``predict`` gets no key.
    """

    buffers: dict = dataclasses.field(default_factory=dict)

    def _member_outputs(self, x, num_samples, key):
        import torch
        from torch.func import functional_call

        from uqlab.models.torch.model import torch_seed

        passes = num_samples or self.num_passes
        seed = int(self.predict_key) if key is None else torch_seed(key)
        params, buffers = self._tensors(self.params), self._tensors(self.buffers)
        (x,) = self._tensors({"x": x}).values()
        base = self._base
        for layer in dropout_layers(base):
            layer.train()
        chunk = max(1, _PASS_ROWS // x.shape[0])
        locs, scales = [], []
        with torch.no_grad(), torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            torch.manual_seed(seed)
            for start in range(0, passes, chunk):
                t = min(chunk, passes - start)
                outputs = functional_call(base, (params, buffers), (x.repeat(t, 1),))
                loc, scale = self.model.loc_scale(outputs, params)
                locs.append(loc.reshape(t, x.shape[0], -1))
                scales.append(scale.reshape(t, x.shape[0], -1))
        return torch.cat(locs).cpu().numpy(), torch.cat(scales).cpu().numpy()
