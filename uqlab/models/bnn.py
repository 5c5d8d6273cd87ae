"""Bayesian multilayer perceptrons (and their dropout twin) under the JAX model contract.

The network ``f_theta: R^{d_in} -> R^{k d_out}`` has Gaussian priors on its weights. With
``prior="fan_in"`` (default) a weight into a layer of fan-in ``h`` has ``N(0, prior_scale^2 / h)``
and a bias ``N(0, prior_scale^2)``, so the prior over functions keeps its scale as layers widen
(Neal, 1996); ``prior="isotropic"`` puts ``N(0, prior_scale^2)`` on every parameter (MacKay, 1992).
``prior_scale`` may be one number or one per layer. ``prior="hierarchical"`` multiplies layer
``l``'s fan-in scales by a learned ``tau_l`` with ``tau_l^2 ~ InvGamma(a, b)`` (Neal, 1996, sec. 2.3;
``tau_prior=(a, b)``): MAP methods (ensembles) learn the scales, samplers (NUTS) integrate them out.
:func:`uqlab.models.priors.prior_predictive` draws functions from any of these priors.
The likelihood turns the raw outputs into a Gaussian per point (:mod:`uqlab.models.likelihoods`).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from uqlab._validate import check_choice, check_positive, check_positive_int, check_probability
from uqlab.models.base import Model
from uqlab.models.likelihoods import Gaussian, Heteroscedastic, StudentT, gaussian_log_prob

__all__ = ["BayesianMLP", "DropoutMLP", "ACTIVATIONS"]

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,  # tanh approximation (Hendrycks & Gimpel, 2016), torch's GELU(approximate="tanh")
    "gelu_exact": lambda x: jax.nn.gelu(x, approximate=False),  # x Phi(x), torch's default GELU
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
        prior_scale: prior standard deviation s (of biases; of weights before fan-in scaling), one
            number or a tuple with one per layer (``len(widths) + 1``).
        prior: "fan_in" (weights ``N(0, s^2 / fan_in)``), "isotropic" (``N(0, s^2)``) or
            "hierarchical" (fan-in scales times a learned per-layer ``tau_l``).
        tau_prior: ``(a, b)`` of the inverse-gamma prior on ``tau_l^2`` (hierarchical prior only);
            the default ``(3, 2)`` has mean 1.
        likelihood: :class:`Gaussian` (fixed or learned noise), :class:`Heteroscedastic` or
            :class:`StudentT`.
        dropout_rate: probability of dropping each hidden unit when ``train=True`` and a key is
            given (0 disables dropout; see :func:`DropoutMLP`).

    Example:
        >>> model = BayesianMLP(d_in=1, d_out=1, widths=(50,), likelihood=Heteroscedastic())
    """

    d_in: int = 1
    d_out: int = 1
    widths: tuple[int, ...] = (50,)
    activation: str = "tanh"
    prior_scale: float | tuple[float, ...] = 1.0
    prior: str = "fan_in"
    likelihood: Gaussian | Heteroscedastic | StudentT = dataclasses.field(default_factory=Gaussian)
    dropout_rate: float = 0.0
    tau_prior: tuple[float, float] = (3.0, 2.0)

    def __post_init__(self):
        check_positive_int("d_in", self.d_in)
        check_positive_int("d_out", self.d_out)
        object.__setattr__(self, "widths", tuple(self.widths))
        for i, width in enumerate(self.widths):
            check_positive_int(f"widths[{i}]", width)
        check_choice("activation", self.activation, ACTIVATIONS)
        num_layers = len(self.widths) + 1
        if isinstance(self.prior_scale, (tuple, list)):
            object.__setattr__(self, "prior_scale", tuple(self.prior_scale))
            if len(self.prior_scale) != num_layers:
                raise ValueError(
                    f"prior_scale: expected one number or {num_layers} (one per layer), got {len(self.prior_scale)}"
                )
        for i, scale in enumerate(self.layer_prior_scales):
            check_positive(f"prior_scale[{i}]", scale)
        check_choice("prior", self.prior, ("fan_in", "isotropic", "hierarchical"))
        object.__setattr__(self, "tau_prior", tuple(self.tau_prior))
        check_positive("tau_prior[0]", self.tau_prior[0])
        check_positive("tau_prior[1]", self.tau_prior[1])
        check_probability("dropout_rate", self.dropout_rate)
        if not isinstance(self.likelihood, (Gaussian, Heteroscedastic, StudentT)):
            raise TypeError(
                f"likelihood: expected Gaussian, Heteroscedastic or StudentT, got {type(self.likelihood).__name__}"
            )

    @property
    def layer_prior_scales(self) -> tuple[float, ...]:
        """The prior scale s of each layer."""
        if isinstance(self.prior_scale, tuple):
            return self.prior_scale
        return (self.prior_scale,) * (len(self.widths) + 1)

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
        params = {"net": layers, "lik": self.likelihood.init(self.d_out)}
        if self.prior == "hierarchical":
            params["prior"] = {"log_tau": jnp.zeros(len(layers))}
        return params

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

    def raw_outputs(self, params, x, *, key=None, train=False):
        """The network's output layer before the likelihood, ``(N, d_out * outputs_per_target)``."""
        last = params["net"][-1]
        return self.features(params, x, key=key, train=train) @ last["w"] + last["b"]

    def apply(self, params, x, *, key=None, train=False):
        """Predictive ``(loc, scale)``, each ``(N, d_out)``, for inputs ``x`` ``(N, d_in)``."""
        return self.likelihood.loc_scale(self.raw_outputs(params, x, key=key, train=train), params["lik"])

    def weight_prior_scales(self, params=None) -> list[tuple]:
        """Prior standard deviations ``(weights, bias)`` per layer.

        For the hierarchical prior the scales include ``tau_l`` from ``params`` (``tau_l = 1``, the
        scale the inverse-gamma prior centres on, when ``params`` is None).
        """
        fan_ins = self.layer_sizes[:-1]
        scales = self.layer_prior_scales
        if self.prior == "isotropic":
            return [(s, s) for s in scales]
        taus = [1.0] * len(fan_ins) if params is None or "prior" not in params else jnp.exp(params["prior"]["log_tau"])
        return [(s * tau / math.sqrt(h), s * tau) for s, h, tau in zip(scales, fan_ins, taus)]

    def log_prior(self, params):
        """Gaussian log prior of weights and biases, the scales' hyperprior and the likelihood's prior."""
        log_p = self.likelihood.log_prior(params["lik"])
        for layer, (w_scale, b_scale) in zip(params["net"], self.weight_prior_scales(params)):
            log_p += jnp.sum(gaussian_log_prob(layer["w"], 0.0, w_scale))
            log_p += jnp.sum(gaussian_log_prob(layer["b"], 0.0, b_scale))
        if self.prior == "hierarchical":
            log_p += jnp.sum(log_inverse_gamma_of_log_scale(params["prior"]["log_tau"], *self.tau_prior))
        return log_p

    def sample_prior(self, key) -> dict:
        """Network parameters drawn from the prior (likelihood parameters at their prior centre)."""
        params = self.init(key)
        tau_key, *keys = jax.random.split(key, 2 * len(params["net"]) + 1)
        if self.prior == "hierarchical":
            a, b = self.tau_prior
            tau_sq = b / jax.random.gamma(tau_key, a, (len(params["net"]),))
            params["prior"] = {"log_tau": 0.5 * jnp.log(tau_sq)}
        scales = self.weight_prior_scales(params)
        params["net"] = [
            {"w": w_scale * jax.random.normal(keys[2 * i], layer["w"].shape),
             "b": b_scale * jax.random.normal(keys[2 * i + 1], layer["b"].shape)}
            for i, (layer, (w_scale, b_scale)) in enumerate(zip(params["net"], scales))
        ]
        return params

    def log_likelihood(self, params, batch, *, key=None, train=False):
        """Per-point ``log p(y_n | x_n, theta)`` summed over outputs, shape ``(N,)``."""
        outputs = self.raw_outputs(params, batch["x"], key=key, train=train)
        return jnp.sum(self.likelihood.log_prob(batch["y"], outputs, params["lik"]), axis=-1)


def log_inverse_gamma_of_log_scale(log_tau, a: float, b: float):
    """Log-density of ``u = log tau`` when ``tau^2 ~ InvGamma(a, b)`` (Jacobian ``2 tau^2`` included)."""
    v = jnp.exp(2.0 * log_tau)
    return a * math.log(b) - jax.scipy.special.gammaln(a) - (a + 1.0) * jnp.log(v) - b / v + jnp.log(2.0 * v)


def DropoutMLP(*, dropout_rate: float = 0.1, **settings) -> BayesianMLP:  # noqa: N802 - a class-like factory
    """The dropout twin: a :class:`BayesianMLP` whose hidden units drop with ``dropout_rate``."""
    if not 0 < dropout_rate < 1:
        raise ValueError(f"dropout_rate: expected a value in (0, 1) for a dropout network, got {dropout_rate!r}")
    return BayesianMLP(dropout_rate=dropout_rate, **settings)
