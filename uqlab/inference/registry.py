"""Method names -> classes, resolved lazily so that ``import uqlab`` loads no backend.

A new method is one file and one line here.
"""

from __future__ import annotations

import dataclasses

from uqlab._registry import resolve

__all__ = ["METHODS", "get_method", "make_method", "method_names"]

METHODS: dict[str, str] = {
    "nuts": "uqlab.inference.nuts:NUTS",
    "hmc": "uqlab.inference.hmc:HMC",
    "ensemble": "uqlab.inference.ensemble:DeepEnsemble",
    "mc_dropout": "uqlab.inference.mc_dropout:MCDropout",
    "gp": "uqlab.inference.gp:ExactGP",
    "gp_nuts": "uqlab.inference.gp_nuts:GPNUTS",
    "svgp": "uqlab.inference.svgp:SVGP",
    "sgld": "uqlab.inference.sgmcmc:SGLD",
    "sghmc": "uqlab.inference.sgmcmc:SGHMC",
    "vi_meanfield": "uqlab.inference.vi:MeanFieldVI",
    "vi_fullrank": "uqlab.inference.vi:FullRankVI",
    "laplace": "uqlab.inference.laplace:Laplace",
    "np_train": "uqlab.inference.neural_process:NPTrain",
    "mala": "uqlab.inference.mala:MALA",
    "mclmc": "uqlab.inference.mclmc:MCLMC",
    "torch_ensemble": "uqlab.inference.torch.ensemble:TorchEnsemble",
    "torch_mc_dropout": "uqlab.inference.torch.mc_dropout:TorchMCDropout",
    "torch_laplace": "uqlab.inference.torch.laplace:TorchLaplace",
    "torch_vi_meanfield": "uqlab.inference.torch.vi:TorchMeanFieldVI",
    "torch_vi_fullrank": "uqlab.inference.torch.vi:TorchFullRankVI",
}


def method_names() -> list[str]:
    """Registered method names."""
    return sorted(METHODS)


def get_method(name: str):
    """The Method class registered as ``name``."""
    return resolve(METHODS, name, "method")


def make_method(method, **settings):
    """A Method from an instance, a Method class or a registered name; ``settings`` override its own.

    Methods are recognised by protocol (a dataclass with ``fit``), not ``isinstance(.., base.Method)``,
    so that this table imports nothing (``inference.serialization`` reads it to name methods in files).
    """
    is_method = dataclasses.is_dataclass(method) and callable(getattr(method, "fit", None))
    if is_method and not isinstance(method, type):
        if settings:
            return method.replace(**settings)
        return method
    if is_method:
        return method(**settings)
    return get_method(method)(**settings)
