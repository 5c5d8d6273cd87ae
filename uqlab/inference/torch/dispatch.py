"""Which method fits which model: ``uqlab.fit`` routes torch modules and Pyro/NumPyro functions here.

A torch ``nn.Module``, a zero-argument factory returning one, or a
:class:`~uqlab.models.torch.TorchModel` with a :class:`~uqlab.Dataset` goes to the torch twin of
the requested method (``"ensemble"`` -> ``"torch_ensemble"``, ...); a JAX Method instance is
translated to its twin with the settings it changed. A model function with a dict of keyword
arguments goes to ``"svi"`` (NumPyro or Pyro, by the library the function uses) or, for a Pyro
model, ``"nuts"`` to Pyro's NUTS. Nothing here imports torch, Pyro or JAX.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types

from uqlab._registry import resolve

__all__ = ["TORCH_TWINS", "FUNCTION_METHODS", "route", "is_pyro_model"]

TORCH_TWINS = {
    "ensemble": "torch_ensemble",
    "mc_dropout": "torch_mc_dropout",
    "laplace": "torch_laplace",
    "vi_meanfield": "torch_vi_meanfield",
    "vi_fullrank": "torch_vi_fullrank",
}
"""JAX method name -> the registered method that fits a torch module the same way."""

FUNCTION_METHODS = {
    "svi": "uqlab.inference.svi:SVI",
    "pyro_svi": "uqlab.inference.torch.pyro:PyroSVI",
    "pyro_nuts": "uqlab.inference.torch.pyro:PyroNUTS",
}
"""Methods for model functions (NumPyro / Pyro) with dict data; they have no ``predict(x)``."""

_TORCH_MODEL_SETTINGS = ("likelihood", "prior_scale", "device")


def _is_torch_model(model, data) -> bool:
    from uqlab.data import Dataset

    if "torch" in sys.modules:  # otherwise no module or TorchModel can exist yet
        from uqlab.models.torch.model import TorchModel, is_module

        if isinstance(model, TorchModel) or is_module(model):
            return True
    if not (callable(model) and isinstance(data, Dataset)) or hasattr(model, "log_likelihood") or dataclasses.is_dataclass(model):
        return False
    try:
        required = [p for p in inspect.signature(model).parameters.values()
                    if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return not required


def is_pyro_model(fn, data) -> bool:
    """True when ``fn`` is a Pyro (torch) model: its data holds torch tensors, or its code refers
    to the ``pyro`` package (``pyro.sample``, ``pyro.distributions``)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(data, dict) and any(isinstance(v, torch.Tensor) for v in data.values()):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions and comprehensions
        if isinstance(const, types.CodeType):
            names.update(const.co_names)
    roots = {getattr(fn.__globals__.get(name), "__name__", "").split(".")[0] for name in names}
    return "pyro" in roots and "numpyro" not in roots


def _twin(method, settings: dict):
    """The torch twin of ``method`` (a name or Method instance), and the settings still to pass."""
    from uqlab.inference.registry import get_method

    name = method if isinstance(method, str) else getattr(method, "name", None)
    if name in TORCH_TWINS.values():
        return method, settings
    if name not in TORCH_TWINS:
        raise ValueError(f"method: a torch module can be fitted with {sorted(TORCH_TWINS)}, got {name!r}; for NUTS, "
                         "HMC, SG-MCMC or JAX VI convert a Sequential MLP with uqlab.models.from_torch(module)")
    if isinstance(method, str):
        return TORCH_TWINS[name], settings
    twin = get_method(TORCH_TWINS[name])
    fields = {f.name for f in dataclasses.fields(twin)}
    changed = {f.name: getattr(method, f.name) for f in dataclasses.fields(method)
               if f.name in fields and getattr(method, f.name) != _default(f)}
    return twin(**{**changed, **settings}), {}


def _default(field):
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else dataclasses.MISSING


def route(model, data, method, settings: dict):
    """``(model, method, settings)`` after routing; ``settings`` loses the model settings it held."""
    if _is_torch_model(model, data):
        from uqlab.models.torch.model import TorchModel

        given = {k: settings.pop(k) for k in _TORCH_MODEL_SETTINGS if k in settings}
        model = dataclasses.replace(model, **given) if isinstance(model, TorchModel) else TorchModel(model, **given)
        method, settings = _twin(method, settings)
        return model, method, settings
    if callable(model) and isinstance(data, dict) and not hasattr(model, "log_likelihood"):
        pyro = is_pyro_model(getattr(model, "fn", model), data)
        if pyro and method in ("svi", "nuts"):
            method = f"pyro_{method}"
        if isinstance(method, str) and method in FUNCTION_METHODS:
            method = resolve(FUNCTION_METHODS, method, "method")(**settings)
            settings = {}
    return model, method, settings
