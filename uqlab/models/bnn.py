"""Bayesian multilayer perceptrons (and their dropout twin) under the JAX model contract.

The network ``f_theta: R^{d_in} -> R^{k d_out}`` has Gaussian priors on its weights. With
``prior="fan_in"`` (default) a weight into a layer of fan-in ``h`` has ``N(0, prior_scale^2 / h)``
and a bias ``N(0, prior_scale^2)``, so the prior over functions keeps its scale as layers widen
(Neal, 1996); ``prior="isotropic"`` puts ``N(0, prior_scale^2)`` on every parameter (MacKay, 1992).
The likelihood turns the raw outputs into a Gaussian per point (:mod:`uqlab.models.likelihoods`).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from uqlab._validate import check_choice, check_positive, check_positive_int, check_probability
from uqlab.models.base import Model
from uqlab.models.likelihoods import Gaussian, Heteroscedastic, gaussian_log_prob

__all__ = ["BayesianMLP", "DropoutMLP", "ACTIVATIONS"]

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
}


@dataclasses.dataclass(frozen=True)
class BayesianMLP(Model):
    """A fully connected network with a Gaussian weight prior and a Gaussian likelihood.

    Args:
        d_in: input dimension.
        d_out: target dimension.
        widths: hidden layer widths, e.g. ``(50,)`` or ``(64, 64)``.
        activation: one of ``ACTIVATIONS``.
        prior_scale: prior standard deviation s (of biases; of weights before fan-in scaling).
        prior: "fan_in" (weights ``N(0, s^2 / fan_in)``) or "isotropic" (``N(0, s^2)``).
        likelihood: :class:`Gaussian` (fixed or learned noise) or :class:`Heteroscedastic`.
        dropout_rate: probability of dropping each hidden unit when ``train=True`` and a key is
            given (0 disables dropout; see :func:`DropoutMLP`).

    Example:
        >>> model = BayesianMLP(d_in=1, d_out=1, widths=(50,), likelihood=Heteroscedastic())
    """

    d_in: int = 1
    d_out: int = 1
    widths: tuple[int, ...] = (50,)
    activation: str = "tanh"
    prior_scale: float = 1.0
    prior: str = "fan_in"
    likelihood: Gaussian | Heteroscedastic = dataclasses.field(default_factory=Gaussian)
    dropout_rate: float = 0.0

    def __post_init__(self):
        check_positive_int("d_in", self.d_in)
        check_positive_int("d_out", self.d_out)
        object.__setattr__(self, "widths", tuple(self.widths))
        for i, width in enumerate(self.widths):
            check_positive_int(f"widths[{i}]", width)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_positive("prior_scale", self.prior_scale)
        check_choice("prior", self.prior, ("fan_in", "isotropic"))
        check_probability("dropout_rate", self.dropout_rate)
        if not isinstance(self.likelihood, (Gaussian, Heteroscedastic)):
            raise TypeError(
                f"likelihood: expected Gaussian or Heteroscedastic, got {type(self.likelihood).__name__}"
            )

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Sizes from input to raw output."""
        return (self.d_in, *self.widths, self.d_out * self.likelihood.outputs_per_target)

    def init(self, key) -> dict:
        """LeCun-normal weights (variance 1 / fan-in); hidden biases N(0, 1), output biases 0.

        Spread-out hidden biases place the units' transitions across the (standardised) input
        range; zero biases would put every kink of a 1-D input at the origin and fit slowly.
        """
        sizes = self.layer_sizes
        keys = jax.random.split(key, 2 * (len(sizes) - 1)).reshape(len(sizes) - 1, 2, -1)
        layers = []
        for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            bias = jnp.zeros(n_out) if last else jax.random.normal(k[1], (n_out,))
            layers.append({"w": jax.random.normal(k[0], (n_in, n_out)) / math.sqrt(n_in), "b": bias})
        return {"net": layers, "lik": self.likelihood.init(self.d_out)}

    def features(self, params, x, *, key=None, train=False):
        """Last hidden layer activations ``(N, widths[-1])`` (used by last-layer methods)."""
        act = ACTIVATIONS[self.activation]
        use_dropout = train and key is not None and self.dropout_rate > 0
        hidden = params["net"][:-1]
        keys = jax.random.split(key, len(hidden)) if use_dropout else [None] * len(hidden)
        h = x
        for layer, k in zip(hidden, keys):
            h = act(h @ layer["w"] + layer["b"])
            if use_dropout:
                keep = jax.random.bernoulli(k, 1.0 - self.dropout_rate, h.shape)
                h = jnp.where(keep, h / (1.0 - self.dropout_rate), 0.0)
        return h

    def apply(self, params, x, *, key=None, train=False):
        """Predictive ``(loc, scale)``, each ``(N, d_out)``, for inputs ``x`` ``(N, d_in)``."""
        h = self.features(params, x, key=key, train=train)
        last = params["net"][-1]
        return self.likelihood.loc_scale(h @ last["w"] + last["b"], params["lik"])

    def weight_prior_scales(self) -> list[tuple[float, float]]:
        """Prior standard deviations ``(weights, bias)`` per layer."""
        fan_ins = self.layer_sizes[:-1]
        if self.prior == "isotropic":
            return [(self.prior_scale, self.prior_scale) for _ in fan_ins]
        return [(self.prior_scale / math.sqrt(h), self.prior_scale) for h in fan_ins]

    def log_prior(self, params):
        """Gaussian log prior of weights and biases plus the likelihood's own prior."""
        log_p = self.likelihood.log_prior(params["lik"])
        for layer, (w_scale, b_scale) in zip(params["net"], self.weight_prior_scales()):
            log_p += jnp.sum(gaussian_log_prob(layer["w"], 0.0, w_scale))
            log_p += jnp.sum(gaussian_log_prob(layer["b"], 0.0, b_scale))
        return log_p

    def log_likelihood(self, params, batch, *, key=None, train=False):
        """Per-point ``log p(y_n | x_n, theta)`` summed over outputs, shape ``(N,)``."""
        loc, scale = self.apply(params, batch["x"], key=key, train=train)
        return jnp.sum(gaussian_log_prob(batch["y"], loc, scale), axis=-1)


def DropoutMLP(*, dropout_rate: float = 0.1, **settings) -> BayesianMLP:  # noqa: N802 - a class-like factory
    """The dropout twin: a :class:`BayesianMLP` whose hidden units drop with ``dropout_rate``."""
    if not 0 < dropout_rate < 1:
        raise ValueError(f"dropout_rate: expected a value in (0, 1) for a dropout network, got {dropout_rate!r}")
    return BayesianMLP(dropout_rate=dropout_rate, **settings)
