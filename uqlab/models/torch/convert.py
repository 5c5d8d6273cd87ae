"""``from_torch``: a torch ``nn.Sequential`` MLP as the equivalent JAX :class:`~uqlab.models.BayesianMLP`.

The converter reads the layer list ``Linear, act, [Dropout], Linear, act, [Dropout], ..., Linear``
(one activation type and one dropout rate for all hidden layers, which is what
:class:`~uqlab.models.BayesianMLP` represents) and copies the weights: torch's ``Linear`` computes
``x W^T + b`` with ``W`` of shape ``(out, in)``, the JAX model ``x w + b`` with ``w = W^T``. The
returned params then give the same outputs as ``module.eval()`` (dropout off), so every JAX
method (NUTS, HMC, SG-MCMC, VI, Laplace) applies to a torch user's network; samplers start from
the model's own initialisation, MAP-based methods may start from the copied weights.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Converted", "from_torch"]

# torch activation class name -> BayesianMLP activation name (GELU resolved by its approximation)
_ACTIVATIONS = {"Tanh": "tanh", "ReLU": "relu", "SiLU": "silu", "Sigmoid": "sigmoid", "Softplus": "softplus"}


class Converted(NamedTuple):
    """What :func:`from_torch` returns: the JAX ``model`` and its ``params`` (the module's weights)."""

    model: Any
    params: dict


def _activation_name(index: int, layer) -> str | None:
    """The BayesianMLP activation for ``layer``, or None if it is not a supported activation."""
    kind = type(layer).__name__
    if kind == "GELU":
        return "gelu" if layer.approximate == "tanh" else "gelu_exact"
    if kind == "Softplus" and (layer.beta != 1 or layer.threshold < 20):
        raise ValueError(
            f"module[{index}]: Softplus(beta={layer.beta}, threshold={layer.threshold}) is not supported; "
            "expected beta=1 and threshold >= 20 (the plain softplus)"
        )
    return _ACTIVATIONS.get(kind)


def _parse(module) -> tuple[list, str, float]:
    """``(linears, activation, dropout_rate)`` of a Sequential MLP, or a ValueError naming the layer."""
    import torch

    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module: from_torch expects a torch.nn.Sequential of Linear/activation/Dropout layers, "
                        f"got {type(module).__name__}")
    linears, activations, rates = [], set(), set()
    expect = "Linear"
    for index, layer in enumerate(module):
        kind = type(layer).__name__
        act = None if isinstance(layer, (torch.nn.Linear, torch.nn.Dropout)) else _activation_name(index, layer)
        if isinstance(layer, torch.nn.Linear) and expect in ("Linear", "Linear/Dropout"):
            linears.append(layer)
            expect = "activation"
        elif act is not None and expect == "activation" and len(linears) >= 1:
            activations.add(act)
            expect = "Linear/Dropout"
        elif isinstance(layer, torch.nn.Dropout) and expect == "Linear/Dropout":
            rates.add(float(layer.p))
            expect = "Linear"
        else:
            supported = "Linear, Tanh, ReLU, GELU, SiLU, Softplus, Sigmoid, Dropout"
            reason = f"expected {expect} here" if kind in {"Linear", "Dropout", *_ACTIVATIONS, "GELU"} else (
                f"unsupported layer (supported: {supported})")
            raise ValueError(f"module[{index}]: {kind} is not convertible: {reason}; the layout must be "
                             "Linear, activation, [Dropout], ..., Linear")
    if expect != "activation":
        raise ValueError("module: expected the last layer to be a Linear (raw outputs), "
                         f"got {type(module[-1]).__name__ if len(module) else 'an empty Sequential'}")
    if len(activations) > 1:
        raise ValueError(f"module: all hidden layers must share one activation to convert, got {sorted(activations)}")
    if len(rates) > 1 or (rates and sum(isinstance(m, torch.nn.Dropout) for m in module) != len(linears) - 1):
        raise ValueError("module: dropout must follow every hidden activation with one rate to convert, "
                         f"got rates {sorted(rates)} on {sum(isinstance(m, torch.nn.Dropout) for m in module)} of "
                         f"{len(linears) - 1} hidden layers")
    for i, layer in enumerate(linears):
        if layer.bias is None:
            raise ValueError(f"module: Linear {i} has no bias; BayesianMLP layers have one (use bias=True)")
    for i, (a, b) in enumerate(zip(linears[:-1], linears[1:])):
        if a.out_features != b.in_features:
            raise ValueError(f"module: Linear {i} has {a.out_features} outputs but Linear {i + 1} takes {b.in_features}")
    return linears, activations.pop() if activations else "tanh", rates.pop() if rates else 0.0


def from_torch(module, *, likelihood=None, **settings) -> Converted:
    """Convert a torch ``nn.Sequential`` MLP into a JAX :class:`~uqlab.models.BayesianMLP` and its weights.

    Args:
        module: ``nn.Sequential`` of ``Linear``, one activation type (``Tanh``, ``ReLU``, ``GELU``,
            ``SiLU``, ``Softplus``, ``Sigmoid``) after each hidden ``Linear``, optional ``Dropout``
            after each activation, and a final ``Linear``.
        likelihood: the JAX likelihood (default: :class:`~uqlab.models.Gaussian` with learned noise);
            the last layer's width must be ``d_out * likelihood.outputs_per_target``.
        **settings: other :class:`~uqlab.models.BayesianMLP` settings (``prior_scale``, ``prior``).

    Returns:
        :class:`Converted` ``(model, params)``; ``model.raw_outputs(params, x)`` equals
        ``module.eval()(x)``.

    Raises:
        TypeError: ``module`` is not an ``nn.Sequential``.
        ValueError: naming the first layer that cannot be converted (``module[i]``), or an output
            width that does not fit the likelihood.
    """
    import jax
    import jax.numpy as jnp

    from uqlab.models.bnn import BayesianMLP
    from uqlab.models.likelihoods import Gaussian

    linears, activation, rate = _parse(module)
    likelihood = Gaussian() if likelihood is None else likelihood
    width = linears[-1].out_features
    per_target = getattr(likelihood, "outputs_per_target", 1)
    if width % per_target:
        raise ValueError(f"likelihood: {type(likelihood).__name__} needs {per_target} outputs per target, but the "
                         f"module's last Linear has {width} outputs")
    model = BayesianMLP(d_in=linears[0].in_features, d_out=width // per_target,
                        widths=tuple(layer.out_features for layer in linears[:-1]), activation=activation,
                        likelihood=likelihood, dropout_rate=rate, **settings)
    dtype = jnp.result_type(float)
    net = [{"w": jnp.asarray(layer.weight.detach().cpu().numpy().T, dtype),
            "b": jnp.asarray(layer.bias.detach().cpu().numpy(), dtype)} for layer in linears]
    params = {**model.init(jax.random.PRNGKey(0)), "net": net}
    return Converted(model, params)
