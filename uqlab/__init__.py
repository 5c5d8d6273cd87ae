"""uqlab: probabilistic uncertainty quantification for scientific machine learning.

Write a surrogate model once, fit it with any inference method behind one interface, and read
calibrated predictions::

    import uqlab
    from uqlab.models import BayesianMLP, Heteroscedastic

    problem = uqlab.problems.load("toy1d")
    model = BayesianMLP(widths=(50,), likelihood=Heteroscedastic())
    posterior = uqlab.fit(model, problem.data, "nuts", key=0)
    predictive = posterior.predict(problem.data.x_test)
    print(uqlab.diagnostics.evaluate(predictive, problem.data.y_test))

``import uqlab`` loads no jax, torch, pyro or arviz; backends load when a method needs them.
"""

from __future__ import annotations

import importlib

from uqlab._version import __version__ as __version__
from uqlab.data import Dataset
from uqlab.predictive import Predictive

__all__ = ["Dataset", "Predictive", "fit", "compare", "load", "methods", "problems", "diagnostics", "models", "inference"]

_SUBMODULES = {"problems", "diagnostics", "models", "inference"}


def fit(model, data: Dataset, method="nuts", *, key=0, **settings):
    """Fit ``model`` to ``data`` with an inference method.

    Args:
        model: a model under the uqlab contract (e.g. :class:`uqlab.models.BayesianMLP`); a torch
            ``nn.Module`` (or zero-argument factory) for "ensemble", "mc_dropout", "laplace",
            "vi_meanfield", "vi_fullrank" (with ``likelihood=``, ``prior_scale=``, ``device=``);
            or a NumPyro / Pyro model function for "svi" (and "nuts"), see ``docs/torch.md``.
        data: a :class:`Dataset`, or for a model function a dict of its keyword arguments.
        method: a Method instance, or a registered name ("nuts", "ensemble", "mc_dropout", ...).
        key: int seed or JAX key; the same key gives the same numbers.
        **settings: method settings (override those of an instance).

    Returns:
        A Posterior with ``predict(x) -> Predictive``.
    """
    from uqlab.inference.registry import make_method
    from uqlab.inference.torch.dispatch import route

    model, method, settings = route(model, data, method, dict(settings))
    return make_method(method, **settings).fit(model, data, key=key)


def compare(methods, model=None, problem="toy1d", **options):
    """Fit several methods on one problem and score their Predictives side by side.

    See :func:`uqlab.study.compare` (``seeds=``, ``metrics=``, ``quick=``); returns a
    :class:`~uqlab.diagnostics.compare.Comparison` with ``summary()``, ``save(path)`` and an HTML
    report via :func:`uqlab.diagnostics.report.write_report`.
    """
    from uqlab.study import compare as _compare

    return _compare(methods, model, problem, **options)


def load(path, *, model=None):
    """Read a posterior saved with ``posterior.save(path)``; it predicts the same numbers.

    Args:
        path: a file written by ``Posterior.save``.
        model: needed only when the fitted model was a function (NumPyro model, log density).

    Raises:
        ValueError: the file is not a uqlab posterior, is truncated, or is from a newer format.
    """
    from uqlab.inference.serialization import load_posterior

    return load_posterior(path, model=model)


def methods() -> list[str]:
    """Names of the registered inference methods."""
    from uqlab.inference.registry import method_names

    return method_names()


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"uqlab.{name}")
    raise AttributeError(f"module 'uqlab' has no attribute {name!r}")
