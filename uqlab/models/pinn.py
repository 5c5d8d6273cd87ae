"""Physics-informed neural networks (PINNs) with Bayesian treatment of weights and coefficients.

A network ``f_theta(z)`` on space-time points ``z`` models the field; the unnormalised log
posterior adds to the usual prior and Gaussian data term a Gaussian *residual* term at M
collocation points ``z_m`` (Raissi et al. 2019; the B-PINN likelihood of Yang et al. 2021)::

    log p(theta, lambda | D) = log p(theta) + log p(lambda)
                               + sum_n log N(y_n | f_theta(z_n), sigma^2)
                               + sum_m log N(0 | R[f_theta; lambda](z_m), sigma_r^2)

where ``R`` is the PDE residual, ``lambda`` the unknown coefficients (here ``log nu`` with a
Gaussian prior) and ``sigma_r`` the residual noise scale. The residual term is the model's
:meth:`~uqlab.models.base.Model.log_extra`, so NUTS, deep ensembles and MC dropout fit forward
(known ``nu``) and inverse (inferred ``nu``) problems through the same ``uqlab.fit``.

Derivatives are batched forward mode: one ``jax.jvp`` with the tangent ``e_i`` on every row gives
``df/dz_i`` at all points at once (the network acts row-wise), and a ``jvp`` of that gives the
second derivative; this is cheaper than per-point nested ``jax.grad`` (see docs/architecture.md).

Inputs are in physical units (use ``Dataset(standardize=False)``): the equation maps them to the
network's features itself, so derivatives come out in physical units.

Design of the collocation points: a model must stay a hashable frozen dataclass (methods close
over it and may key caches on it), so the points live in :class:`Points`, a read-only array
compared and hashed by content.

Navier-Stokes: the network outputs the vorticity ``w`` *and* the stream function ``psi``, with the
vorticity transport equation and the Poisson equation ``lap psi + w = 0`` as two residuals. Using
``psi`` alone would need fourth derivatives (``lap w = -lap^2 psi``) and make observations of
``w`` second derivatives of the output; using ``w`` alone gives no velocity. The pair needs only
second derivatives, and a periodic embedding ``(cos x, sin x, cos y, sin y, t)`` makes both
fields exactly periodic.

References:
    Raissi, Perdikaris, Karniadakis (2019). Physics-informed neural networks. J. Comput. Phys.
    378, 686-707.

    Jagtap, Kawaguchi, Karniadakis (2020). Locally adaptive activation functions with slope
    recovery for deep and physics-informed neural networks. Proc. R. Soc. A 476, 20200334.

    Yang, Meng, Karniadakis (2021). B-PINNs: Bayesian physics-informed neural networks for
    forward and inverse PDE problems with noisy data. J. Comput. Phys. 425, 109913.

    Evaluating uncertainty quantification approaches for neural PDEs in scientific applications
    (the study of issue 6): HMC, MC dropout and deep ensembles on Burgers and Navier-Stokes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import jax
import jax.numpy as jnp
import numpy as np

from uqlab._validate import check_positive, check_positive_int, check_probability
from uqlab.data import as_2d
from uqlab.models.base import Model
from uqlab.models.bnn import BayesianMLP
from uqlab.models.likelihoods import Gaussian, gaussian_log_prob

_RESAMPLE_STREAM = 0x5EED
"""``fold_in`` constant that separates the collocation-resampling stream from dropout's."""

__all__ = ["Points", "BurgersEquation", "VorticityEquation", "PINN", "first_derivative", "second_derivative"]


@dataclasses.dataclass(frozen=True, eq=False)
class Points:
    """A read-only ``(M, d)`` float array, equal and hashed by content (keeps models hashable)."""

    values: np.ndarray

    def __post_init__(self):
        values = as_2d("collocation", self.values).copy()
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "_digest", hashlib.sha1(values.tobytes() + str(values.shape).encode()).hexdigest())

    def __eq__(self, other) -> bool:
        return isinstance(other, Points) and self._digest == other._digest

    def __hash__(self) -> int:
        return hash(self._digest)

    def __len__(self) -> int:
        return self.values.shape[0]


def first_derivative(f, z, axis: int):
    """``(f(z), df/dz_axis)`` at every row of ``z`` with one batched forward-mode ``jvp``."""
    tangent = jnp.zeros_like(z).at[:, axis].set(1.0)
    return jax.jvp(f, (z,), (tangent,))


def second_derivative(f, z, axis: int):
    """``(df/dz_axis, d2f/dz_axis^2)`` at every row of ``z`` (a ``jvp`` of a ``jvp``)."""
    return first_derivative(lambda p: first_derivative(f, p, axis)[1], z, axis)


@dataclasses.dataclass(frozen=True)
class BurgersEquation:
    """Viscous Burgers ``R = u_t + u u_x - nu u_xx`` on points ``z = (x, t)``.

    Args:
        domain: ``((x_low, x_high), (t_low, t_high))``, mapped affinely onto ``[-1, 1]^2``.
    """

    domain: tuple = ((-1.0, 1.0), (0.0, 1.0))
    num_fields = 1
    d_in = 2

    @property
    def bounds(self) -> tuple:
        """``(low, high)`` corners of the space-time box, per coordinate ``(x, t)``."""
        return tuple(zip(*self.domain))

    def embed(self, z):
        """Network features: ``z`` mapped onto ``[-1, 1]`` per coordinate."""
        low, high = (jnp.asarray(v) for v in self.bounds)
        return 2.0 * (z - low) / (high - low) - 1.0

    def residual(self, field, z, nu):
        """``(M, 1)`` residual of the field function ``field: (M, 2) -> (M, 1)``."""
        u_x, u_xx = second_derivative(field, z, 0)
        u, u_t = first_derivative(field, z, 1)
        return u_t + u * u_x - nu * u_xx


@dataclasses.dataclass(frozen=True)
class VorticityEquation:
    """2-D Navier-Stokes in vorticity form on the periodic square, points ``z = (x, y, t)``.

    Fields ``(w, psi)``; residuals ``w_t + psi_y w_x - psi_x w_y - nu lap w + drag w - f`` with
    ``f = forcing_amplitude sin(forcing_wavenumber y)``, and ``lap psi + w`` (so ``-lap psi = w``).

    Args:
        time_span: ``(t_low, t_high)``, mapped onto ``[-1, 1]``.
        forcing_amplitude, forcing_wavenumber, drag: Kolmogorov forcing (0 amplitude: none).
    """

    time_span: tuple = (0.0, 1.0)
    forcing_amplitude: float = 0.0
    forcing_wavenumber: int = 4
    drag: float = 0.0
    num_fields = 2
    d_in = 3

    @property
    def bounds(self) -> tuple:
        """``(low, high)`` corners of ``[0, 2 pi)^2 x time_span``, per coordinate ``(x, y, t)``."""
        return (0.0, 0.0, self.time_span[0]), (2 * math.pi, 2 * math.pi, self.time_span[1])

    def embed(self, z):
        """Periodic features ``(cos x, sin x, cos y, sin y, t scaled to [-1, 1])``."""
        t0, t1 = self.time_span
        t = 2.0 * (z[:, 2:3] - t0) / (t1 - t0) - 1.0
        return jnp.concatenate([jnp.cos(z[:, :2]), jnp.sin(z[:, :2]), t], axis=1)

    def residual(self, field, z, nu):
        """``(M, 2)`` residuals (transport, Poisson) of ``field: (M, 3) -> (M, 2)`` = ``(w, psi)``."""
        d_x, d_xx = second_derivative(field, z, 0)
        d_y, d_yy = second_derivative(field, z, 1)
        values, d_t = first_derivative(field, z, 2)
        w = values[:, 0]
        forcing = self.forcing_amplitude * jnp.sin(self.forcing_wavenumber * z[:, 1])
        transport = (
            d_t[:, 0] + d_y[:, 1] * d_x[:, 0] - d_x[:, 1] * d_y[:, 0]
            - nu * (d_xx[:, 0] + d_yy[:, 0]) + self.drag * w - forcing
        )
        poisson = d_xx[:, 1] + d_yy[:, 1] + w
        return jnp.stack([transport, poisson], axis=1)


@dataclasses.dataclass(frozen=True)
class PINN(Model):
    """A Bayesian physics-informed network for one observed field (field 0 of the equation).

    Args:
        equation: :class:`BurgersEquation` or :class:`VorticityEquation`.
        collocation: residual points ``(M, d_in)`` in physical units (:class:`Points` or array).
        widths, activation, prior_scale, prior: the network and its weight prior (as
            :class:`~uqlab.models.BayesianMLP`).
        likelihood: Gaussian observation noise (fixed ``noise_scale`` or learned).
        residual_scale: sigma_r, the noise scale of the residual term.
        nu: the known coefficient (forward problem), or None to infer it (inverse problem).
        log_nu_prior: ``(loc, scale)`` of the Gaussian prior on ``log nu`` when inferred.
        output_scale: the network's raw outputs are multiplied by this (field magnitude).
        dropout_rate: hidden-unit dropout in training mode (MC dropout).
        adaptive_slopes: scale each hidden unit's pre-activation by a learned ``exp(s)``
            (locally adaptive activations, Jagtap, Kawaguchi & Karniadakis 2020): a few steep
            units can then form a shock of width ~nu without the weights having to grow by
            orders of magnitude, which plain gradient training of a PINN reaches only slowly.
        log_slope_prior: ``(loc, scale)`` of the Gaussian prior on each log-slope ``s``.
        resample: in stochastic training steps (calls with a ``key``: deep ensembles, MC
            dropout), draw ``M`` fresh points uniformly on the domain instead of using the fixed
            ``collocation`` points. The residual term is then an unbiased estimate of ``M`` times
            the mean squared residual over the whole domain, which a network cannot satisfy at
            fixed points only while violating the PDE between them (Wu et al. 2023). Calls
            without a key (NUTS/HMC, VI, SG-MCMC, evaluation) always use the fixed points, so
            every sampler still sees one deterministic log density.
        resample_size: fresh points per stochastic training step (None: as many as the fixed
            ``collocation`` points). Lets a sampler's fixed set be large (a network fitted to a
            few fixed points can meet the PDE at them and not between them, which biases an
            inferred coefficient) while each training step stays cheap.
    """

    equation: BurgersEquation | VorticityEquation = dataclasses.field(default_factory=BurgersEquation)
    collocation: Points | None = None
    widths: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    prior_scale: float = 1.0
    prior: str = "fan_in"
    likelihood: Gaussian = dataclasses.field(default_factory=lambda: Gaussian(noise_scale=0.01))
    residual_scale: float = 0.05
    nu: float | None = None
    log_nu_prior: tuple[float, float] = (math.log(0.01), 1.0)
    output_scale: float = 1.0
    dropout_rate: float = 0.0
    adaptive_slopes: bool = False
    log_slope_prior: tuple[float, float] = (0.0, 2.0)
    resample: bool = False
    resample_size: int | None = None

    def __post_init__(self):
        if not isinstance(self.equation, (BurgersEquation, VorticityEquation)):
            raise TypeError(f"equation: expected BurgersEquation or VorticityEquation, got {type(self.equation).__name__}")
        if self.collocation is None:
            raise ValueError("collocation: expected (M, d_in) residual points, got None")
        points = self.collocation if isinstance(self.collocation, Points) else Points(self.collocation)
        if points.values.shape[1] != self.equation.d_in:
            raise ValueError(
                f"collocation: expected {self.equation.d_in} columns for {type(self.equation).__name__}, "
                f"got shape {points.values.shape}"
            )
        object.__setattr__(self, "collocation", points)
        object.__setattr__(self, "widths", tuple(self.widths))
        if not isinstance(self.likelihood, Gaussian):
            raise TypeError(f"likelihood: expected a Gaussian likelihood, got {type(self.likelihood).__name__}")
        check_positive("residual_scale", self.residual_scale)
        check_positive("nu", self.nu, allow_none=True)
        check_positive("log_nu_prior[1]", self.log_nu_prior[1])
        check_positive("output_scale", self.output_scale)
        check_probability("dropout_rate", self.dropout_rate)
        for flag in ("adaptive_slopes", "resample"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag}: expected True or False, got {getattr(self, flag)!r}")
        check_positive_int("resample_size", self.resample_size, allow_none=True)
        object.__setattr__(self, "log_slope_prior", tuple(self.log_slope_prior))
        check_positive("log_slope_prior[1]", self.log_slope_prior[1])
        _ = self.network  # validates widths, activation, prior

    @property
    def network(self) -> BayesianMLP:
        """The field network (embedded inputs -> raw fields)."""
        d_features = self.equation.embed(jnp.zeros((1, self.equation.d_in))).shape[1]
        return BayesianMLP(
            d_in=d_features, d_out=self.equation.num_fields, widths=self.widths, activation=self.activation,
            prior_scale=self.prior_scale, prior=self.prior, likelihood=Gaussian(noise_scale=1.0),
            dropout_rate=self.dropout_rate,
        )

    @property
    def inverse(self) -> bool:
        """Whether ``nu`` is inferred."""
        return self.nu is None

    def init(self, key) -> dict:
        """Network weights, likelihood parameters and (inverse problems) ``log nu`` at its prior mean."""
        params = {"net": self.network.init(key)["net"], "lik": self.likelihood.init(1)}
        if self.adaptive_slopes:
            params["log_slope"] = [jnp.full(w, self.log_slope_prior[0], jnp.result_type(float)) for w in self.widths]
        if self.inverse:
            params["log_nu"] = jnp.asarray(self.log_nu_prior[0], jnp.result_type(float))
        return params

    def coefficient(self, params):
        """The viscosity ``nu`` (known, or ``exp(log_nu)``)."""
        return jnp.exp(params["log_nu"]) if self.inverse else self.nu

    def fields(self, params, z, *, key=None, train=False):
        """All fields ``(N, num_fields)`` at physical points ``z`` ``(N, d_in)``."""
        net = self.network
        if self.adaptive_slopes:
            h = self._adaptive_features(params, self.equation.embed(z), key=key, train=train)
        else:
            h = net.features({"net": params["net"]}, self.equation.embed(z), key=key, train=train)
        last = params["net"][-1]
        return self.output_scale * (h @ last["w"] + last["b"])

    def _adaptive_features(self, params, h, *, key=None, train=False):
        """Hidden layers ``h <- act(exp(s) * (h W + b))`` with a learned log-slope ``s`` per unit."""
        from uqlab.models.bnn import ACTIVATIONS

        act = ACTIVATIONS[self.activation]
        use_dropout = train and key is not None and self.dropout_rate > 0
        hidden = params["net"][:-1]
        keys = jax.random.split(key, len(hidden)) if use_dropout else [None] * len(hidden)
        for layer, log_slope, k in zip(hidden, params["log_slope"], keys):
            h = act(jnp.exp(log_slope) * (h @ layer["w"] + layer["b"]))
            if use_dropout:
                keep = jax.random.bernoulli(k, 1.0 - self.dropout_rate, h.shape)
                h = jnp.where(keep, h / (1.0 - self.dropout_rate), 0.0)
        return h

    def apply(self, params, x, *, key=None, train=False):
        """Predictive ``(loc, scale)`` of the observed field, each ``(N, 1)``."""
        return self.likelihood.loc_scale(self.fields(params, x, key=key, train=train)[:, :1], params["lik"])

    def log_prior(self, params):
        """Gaussian weight prior, noise prior and (inverse) ``log nu ~ N(loc, scale^2)``."""
        log_p = self.network.log_prior({"net": params["net"], "lik": {}}) + self.likelihood.log_prior(params["lik"])
        if self.inverse:
            log_p += gaussian_log_prob(params["log_nu"], *self.log_nu_prior)
        if self.adaptive_slopes:
            log_p += sum(jnp.sum(gaussian_log_prob(s, *self.log_slope_prior)) for s in params["log_slope"])
        return log_p

    def log_likelihood(self, params, batch, *, key=None, train=False):
        """Per-observation Gaussian ``log p(y_n | z_n, theta)``, shape ``(N,)``."""
        loc, scale = self.apply(params, batch["x"], key=key, train=train)
        return jnp.sum(gaussian_log_prob(batch["y"], loc, scale), axis=-1)

    def collocation_points(self, key=None):
        """The fixed collocation points, or with ``resample`` and a ``key`` as many fresh uniform ones."""
        dtype = jnp.result_type(float)
        if self.resample and key is not None:  # a stream of its own: dropout masks keep using ``key``
            low, high = (jnp.asarray(v, dtype) for v in self.equation.bounds)
            shape = (self.resample_size or len(self.collocation), self.equation.d_in)
            return jax.random.uniform(jax.random.fold_in(key, _RESAMPLE_STREAM), shape, dtype, low, high)
        return jnp.asarray(self.collocation.values, dtype)

    def residuals(self, params, *, key=None, train=False):
        """PDE residuals ``(M, r)`` at the collocation points (dropout on when ``train`` and ``key``;
        fresh points when ``resample`` and ``key``, see :meth:`collocation_points`)."""
        z = self.collocation_points(key)
        field = lambda p: self.fields(params, p, key=key, train=train)  # noqa: E731
        return self.equation.residual(field, z, self.coefficient(params))

    def log_extra(self, params, *, key=None, train=False):
        """``sum_m log N(0 | R(z_m), sigma_r^2)``: the physics term (same dropout as the data term)."""
        return jnp.sum(gaussian_log_prob(self.residuals(params, key=key, train=train), 0.0, self.residual_scale))

    def quantities(self, params) -> dict:
        """``{"nu": nu}`` for inverse problems, else empty."""
        return {"nu": self.coefficient(params)} if self.inverse else {}
