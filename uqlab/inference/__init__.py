"""Inference methods behind one interface: ``Method.fit(model, data, *, key) -> Posterior``."""

from uqlab.inference.registry import METHODS, get_method, make_method, method_names

__all__ = ["METHODS", "get_method", "make_method", "method_names"]
