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

The equation is one of :mod:`uqlab.models.equations`: the built-in :class:`BurgersEquation` and
:class:`VorticityEquation`, or a user's own residual function with several coefficients
(``PINN(residual=fn, domain=..., coefficients={"k": LogNormal(0, 1), "D": 0.01})``), known
source values at the collocation points (``R = N[u] - f``, e.g. noisy measurements of ``f``),
and boundary or initial :class:`Condition` terms.

Inputs are in physical units (use ``Dataset(standardize=False)``): the equation maps them to the
network's features itself, so derivatives come out in physical units.

Design of the collocation points: a model must stay a hashable frozen dataclass (methods close
over it and may key caches on it), so the points live in :class:`Points`, a read-only array
compared and hashed by content.

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
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from uqlab._validate import check_positive, check_positive_int, check_probability
from uqlab.models.base import Model
from uqlab.models.bnn import BayesianMLP
from uqlab.models.equations import (
    BurgersEquation,
    Condition,
    Equation,
    LogNormal,
    Normal,
    Points,
    VorticityEquation,
    first_derivative,
    gradient,
    hessian,
    laplacian,
    second_derivative,
)
from uqlab.models.likelihoods import Gaussian, gaussian_log_prob

_RESAMPLE_STREAM = 0x5EED
"""``fold_in`` constant that separates the collocation-resampling stream from dropout's."""

_RESERVED = ("net", "lik", "log_slope")
"""Parameter names of the network, the likelihood and the slopes (no coefficient may take them)."""

__all__ = ["Points", "BurgersEquation", "VorticityEquation", "Equation", "LogNormal", "Normal", "Condition", "PINN",
           "first_derivative", "second_derivative", "gradient", "hessian", "laplacian"]


@dataclasses.dataclass(frozen=True)
class PINN(Model):
    """A Bayesian physics-informed network for one observed field (field 0 of the equation).

    Args:
        equation: :class:`BurgersEquation`, :class:`VorticityEquation` or :class:`Equation`
            (None: Burgers, or the equation that ``residual`` and ``domain`` describe).
        collocation: residual points ``(M, d_in)`` in physical units (:class:`Points` or array).
        widths, activation, prior_scale, prior: the network and its weight prior (as
            :class:`~uqlab.models.BayesianMLP`).
        likelihood: Gaussian observation noise (fixed ``noise_scale`` or learned).
        residual_scale: sigma_r, the noise scale of the residual term.
        nu: the known viscosity (forward problem), or None to infer it (inverse problem);
            used when ``coefficients`` is None (the built-in equations' one coefficient).
        log_nu_prior: ``(loc, scale)`` of the Gaussian prior on ``log nu`` when inferred.
        coefficients: ``{name: prior or value}``: a :class:`LogNormal` (positive, inferred as
            ``log c``) or :class:`Normal` (real) prior for an unknown coefficient, a number for
            a known one. Each inferred coefficient is a quantity (``posterior.quantity(name)``).
        source: ``(M, r)`` values ``f`` at the collocation points: the residual becomes
            ``R - f`` (measured source terms; ``residual_scale`` is then their noise).
        conditions: boundary and initial :class:`Condition` terms.
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
        residual: shorthand: ``PINN(residual=fn, domain=..., num_fields=...)`` is
            ``PINN(Equation(fn, domain, num_fields), ...)``.
        domain, num_fields: see ``residual``.
    """

    equation: BurgersEquation | VorticityEquation | Equation | None = None
    collocation: Points | None = None
    widths: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    prior_scale: float = 1.0
    prior: str = "fan_in"
    likelihood: Gaussian = dataclasses.field(default_factory=lambda: Gaussian(noise_scale=0.01))
    residual_scale: float = 0.05
    nu: float | None = None
    log_nu_prior: tuple[float, float] = (math.log(0.01), 1.0)
    coefficients: tuple | None = None
    source: Points | None = None
    conditions: tuple[Condition, ...] = ()
    output_scale: float = 1.0
    dropout_rate: float = 0.0
    adaptive_slopes: bool = False
    log_slope_prior: tuple[float, float] = (0.0, 2.0)
    resample: bool = False
    resample_size: int | None = None
    residual: dataclasses.InitVar[Callable | None] = None
    domain: dataclasses.InitVar[tuple | None] = None
    num_fields: dataclasses.InitVar[int] = 1

    def __post_init__(self, residual, domain, num_fields):
        self._init_equation(residual, domain, num_fields)
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
        self._init_coefficients()
        self._init_source_and_conditions(points)
        _ = self.network  # validates widths, activation, prior

    def _init_equation(self, residual, domain, num_fields):
        if residual is not None or domain is not None:
            if self.equation is not None:
                raise ValueError("residual: give either equation= or residual= (with domain=), not both")
            if residual is None or domain is None:
                raise ValueError(f"domain: residual= needs domain= too, got residual={residual!r}, domain={domain!r}")
            check_positive_int("num_fields", num_fields)
            object.__setattr__(self, "equation", Equation(residual, domain, num_fields))
        elif self.equation is None:
            object.__setattr__(self, "equation", BurgersEquation())
        if not isinstance(self.equation, (BurgersEquation, VorticityEquation, Equation)):
            raise TypeError(f"equation: expected BurgersEquation, VorticityEquation or Equation, got {type(self.equation).__name__}")

    def _init_coefficients(self):
        if self.coefficients is None:
            return
        if self.nu is not None:
            raise ValueError(f"nu: give the coefficients in coefficients= only, got nu={self.nu} as well")
        items = tuple(self.coefficients.items()) if isinstance(self.coefficients, dict) else tuple(self.coefficients)
        for name, spec in items:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"coefficients: expected identifier names, got {name!r}")
            if isinstance(spec, (LogNormal, Normal)):
                if spec.param_name(name) in _RESERVED:
                    raise ValueError(f"coefficients: the name {name!r} is reserved (parameters {_RESERVED})")
            elif isinstance(spec, bool) or not isinstance(spec, (int, float)) or not math.isfinite(spec):
                raise TypeError(f"coefficients[{name!r}]: expected LogNormal, Normal or a finite number, got {spec!r}")
        object.__setattr__(self, "coefficients", items)

    def _init_source_and_conditions(self, points):
        if self.source is not None:
            source = self.source if isinstance(self.source, Points) else Points(self.source)
            if len(source) != len(points):
                raise ValueError(f"source: expected {len(points)} rows (one per collocation point), got {len(source)}")
            if self.resample:
                raise ValueError("source: fresh collocation points (resample=True) have no source values; set resample=False")
            object.__setattr__(self, "source", source)
        conditions = tuple(self.conditions)
        for condition in conditions:
            if not isinstance(condition, Condition):
                raise TypeError(f"conditions: expected Condition terms, got {type(condition).__name__}")
            if condition.points.values.shape[1] != self.equation.d_in:
                raise ValueError(f"conditions: expected points with {self.equation.d_in} columns, got {condition.points.values.shape}")
        object.__setattr__(self, "conditions", conditions)

    @property
    def coefficient_specs(self) -> tuple:
        """``((name, prior or value), ...)``: ``coefficients``, or ``nu`` from ``nu``/``log_nu_prior``."""
        if self.coefficients is not None:
            return self.coefficients
        return (("nu", LogNormal(*self.log_nu_prior) if self.nu is None else self.nu),)

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
        """Whether any coefficient is inferred."""
        return any(isinstance(spec, (LogNormal, Normal)) for _, spec in self.coefficient_specs)

    def init(self, key) -> dict:
        """Network weights, likelihood parameters and the inferred coefficients at their prior means."""
        dtype = jnp.result_type(float)
        params = {"net": self.network.init(key)["net"], "lik": self.likelihood.init(1)}
        if self.adaptive_slopes:
            params["log_slope"] = [jnp.full(w, self.log_slope_prior[0], dtype) for w in self.widths]
        for name, spec in self.coefficient_specs:
            if isinstance(spec, (LogNormal, Normal)):
                params[spec.param_name(name)] = jnp.asarray(spec.loc, dtype)
        return params

    def coefficient_values(self, params) -> dict:
        """Every coefficient by name: known values, and inferred ones from ``params``."""
        return {
            name: spec.value(params[spec.param_name(name)]) if isinstance(spec, (LogNormal, Normal)) else spec
            for name, spec in self.coefficient_specs
        }

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
        """Gaussian weight prior, noise prior and the inferred coefficients' priors."""
        log_p = self.network.log_prior({"net": params["net"], "lik": {}}) + self.likelihood.log_prior(params["lik"])
        for name, spec in self.coefficient_specs:
            if isinstance(spec, (LogNormal, Normal)):
                log_p += spec.log_prob(params[spec.param_name(name)])
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

    def _field_fn(self, params, key, train):
        return lambda p: self.fields(params, p, key=key, train=train)

    def residuals(self, params, *, key=None, train=False):
        """PDE residuals ``(M, r)`` at the collocation points, less ``source`` (dropout on when
        ``train`` and ``key``; fresh points when ``resample`` and ``key``, see :meth:`collocation_points`)."""
        z = self.collocation_points(key)
        residual = self.equation.residual(self._field_fn(params, key, train), z, self.coefficient_values(params))
        if self.source is not None:
            residual = residual - jnp.asarray(self.source.values, residual.dtype)
        return residual

    def log_extra(self, params, *, key=None, train=False):
        """``sum_m log N(0 | R(z_m), sigma_r^2)`` plus the conditions (same dropout as the data term)."""
        log_p = jnp.sum(gaussian_log_prob(self.residuals(params, key=key, train=train), 0.0, self.residual_scale))
        if self.conditions:
            field, coefficients = self._field_fn(params, key, train), self.coefficient_values(params)
            log_p += sum(condition.log_prob(field, coefficients) for condition in self.conditions)
        return log_p

    def quantities(self, params) -> dict:
        """The inferred coefficients by name (``{"nu": nu}`` for the built-in inverse problems)."""
        return {
            name: spec.value(params[spec.param_name(name)])
            for name, spec in self.coefficient_specs if isinstance(spec, (LogNormal, Normal))
        }
