"""Bring-your-own torch models: the JAX converter and the torch model wrapper (torch loads only when used)."""

from uqlab.models.torch.convert import Converted, from_torch
from uqlab.models.torch.model import TorchModel

__all__ = ["Converted", "from_torch", "TorchModel"]
