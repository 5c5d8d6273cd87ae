"""PDE residuals for physics-informed networks: derivative helpers, a user's own equation, coefficient
priors, boundary and initial conditions, and the built-in Burgers and vorticity equations.

An equation is anything with ``bounds`` (the ``(low, high)`` corners of its box), ``d_in``,
``num_fields``, ``embed(z)`` (the network's features of physical points) and
``residual(u, z, coefficients) -> (M, r)``, where ``u: (M, d_in) -> (M, num_fields)`` is the field
function, ``z`` the ``(M, d_in)`` points in physical units and ``coefficients`` a dict of scalars.
A user's PDE is :class:`Equation` around a function written with the helpers below, e.g. a 1-D
diffusion-reaction equation ``D u'' - k g(u) = f``::

    def residual(u, x, c):
        _, u_xx = second_derivative(u, x, 0)
        return c["D"] * u_xx - c["k"] * jnp.tanh(u(x))

    PINN(residual=residual, domain=((-1.0, 1.0),), coefficients={"D": 0.01, "k": LogNormal(0.0, 1.0)},
         collocation=x_f, source=f_observed, residual_scale=0.1)

Derivatives are batched forward mode: the network acts row-wise, so one ``jax.jvp`` with the
tangent ``e_i`` on every row gives ``du/dz_i`` at all points at once, and a ``jvp`` of that
gives a second derivative; this is cheaper than per-point nested ``jax.grad`` (see docs/architecture.md).

Navier-Stokes: the network outputs the vorticity ``w`` *and* the stream function ``psi``, with the
vorticity transport equation and the Poisson equation ``lap psi + w = 0`` as two residuals. Using
``psi`` alone would need fourth derivatives (``lap w = -lap^2 psi``) and make observations of
``w`` second derivatives of the output; using ``w`` alone gives no velocity. The pair needs only
second derivatives, and a periodic embedding ``(cos x, sin x, cos y, sin y, t)`` makes both
fields exactly periodic.

References:
    Raissi, Perdikaris, Karniadakis (2019). Physics-informed neural networks. J. Comput. Phys.
    378, 686-707.

    Yang, Meng, Karniadakis (2021). B-PINNs: Bayesian physics-informed neural networks for
    forward and inverse PDE problems with noisy data. J. Comput. Phys. 425, 109913.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from uqlab._validate import check_positive
from uqlab.data import as_2d
from uqlab.models.likelihoods import gaussian_log_prob

__all__ = [
    "Points", "first_derivative", "second_derivative", "gradient", "hessian", "laplacian", "LogNormal",
    "Normal", "Condition", "Equation", "BurgersEquation", "VorticityEquation", "burgers_residual",
    "vorticity_residual",
]


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


# ---------------------------------------------------------------------------------------------
# Derivatives of a row-wise field u: (M, d) -> (M, F) at every row at once
# ---------------------------------------------------------------------------------------------


def first_derivative(u, z, axis: int):
    """``(u(z), du/dz_axis)``, each ``(M, F)``, with one batched forward-mode ``jvp``."""
    tangent = jnp.zeros_like(z).at[:, axis].set(1.0)
    return jax.jvp(u, (z,), (tangent,))


def second_derivative(u, z, axis: int):
    """``(du/dz_axis, d2u/dz_axis^2)``, each ``(M, F)`` (a ``jvp`` of a ``jvp``)."""
    return first_derivative(lambda p: first_derivative(u, p, axis)[1], z, axis)


def gradient(u, z):
    """``(u(z), grad u)`` with ``grad u`` of shape ``(M, F, d)`` (``d`` jvps)."""
    pairs = [first_derivative(u, z, i) for i in range(z.shape[1])]
    return pairs[0][0], jnp.stack([d for _, d in pairs], axis=-1)


def hessian(u, z):
    """Second derivatives ``d2u/dz_i dz_j`` of shape ``(M, F, d, d)`` (``d (d + 1) / 2`` jvp pairs)."""
    d = z.shape[1]
    entries = {}
    for i in range(d):
        for j in range(i, d):
            entries[i, j] = first_derivative(lambda p, i=i: first_derivative(u, p, i)[1], z, j)[1]
    return jnp.stack([jnp.stack([entries[min(i, j), max(i, j)] for j in range(d)], -1) for i in range(d)], -2)


def laplacian(u, z, axes=None):
    """``sum_i d2u/dz_i^2`` over ``axes`` (None: all coordinates), shape ``(M, F)``."""
    axes = range(z.shape[1]) if axes is None else axes
    return sum(second_derivative(u, z, i)[1] for i in axes)


# ---------------------------------------------------------------------------------------------
# Coefficients and conditions
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _GaussianPrior:
    """A Gaussian ``N(loc, scale^2)`` on a coefficient's parameter; subclasses say what the
    parameter is (its name and the coefficient's value from it)."""

    loc: float = 0.0
    scale: float = 1.0

    def __post_init__(self):
        check_positive("scale", self.scale)

    def log_prob(self, raw):
        return gaussian_log_prob(raw, self.loc, self.scale)


@dataclasses.dataclass(frozen=True)
class LogNormal(_GaussianPrior):
    """Prior of a positive coefficient ``c``: ``log c ~ N(loc, scale^2)``; the parameter is ``log c``."""

    def param_name(self, name: str) -> str:
        return f"log_{name}"

    def value(self, raw):
        return jnp.exp(raw)


@dataclasses.dataclass(frozen=True)
class Normal(_GaussianPrior):
    """Prior of a real coefficient ``c ~ N(loc, scale^2)``; the parameter is ``c`` itself."""

    def param_name(self, name: str) -> str:
        return name

    def value(self, raw):
        return raw


@dataclasses.dataclass(frozen=True)
class Condition:
    """A boundary or initial condition ``B[u](z_b) = g_b`` observed with Gaussian noise ``scale``.

    Adds ``sum_b log N(g_b | B[u](z_b), scale^2)`` to the log density (a soft constraint, as the
    B-PINN likelihood treats boundary data). ``operator(u, z, coefficients) -> (B, k)`` is ``B``
    (None: the first ``k`` fields, a Dirichlet condition); a Neumann condition on the coordinate
    ``i`` is ``lambda u, z, c: first_derivative(u, z, i)[1]``.

    Args:
        points: ``(B, d_in)`` points in physical units.
        values: ``(B, k)`` target values ``g_b``.
        scale: the noise scale of the condition.
        operator: ``B`` (None: Dirichlet on the first ``k`` fields).
    """

    points: Points
    values: Points
    scale: float = 1e-2
    operator: Callable | None = None

    def __post_init__(self):
        points = self.points if isinstance(self.points, Points) else Points(self.points)
        values = self.values if isinstance(self.values, Points) else Points(self.values)
        if len(values) != len(points):
            raise ValueError(f"values: expected {len(points)} rows (one per condition point), got {len(values)}")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "values", values)
        check_positive("scale", self.scale)

    def log_prob(self, u, coefficients):
        dtype = jnp.result_type(float)
        z, target = jnp.asarray(self.points.values, dtype), jnp.asarray(self.values.values, dtype)
        predicted = u(z)[:, : target.shape[1]] if self.operator is None else self.operator(u, z, coefficients)
        return jnp.sum(gaussian_log_prob(target, jnp.reshape(predicted, target.shape), self.scale))


# ---------------------------------------------------------------------------------------------
# Equations
# ---------------------------------------------------------------------------------------------


def _affine_embed(z, bounds):
    low, high = (jnp.asarray(v) for v in bounds)
    return 2.0 * (z - low) / (high - low) - 1.0


@dataclasses.dataclass(frozen=True)
class Equation:
    """A user's PDE: ``residual_fn(u, z, coefficients)`` on the box ``domain``.

    Args:
        residual_fn: ``(u, z, coefficients) -> (M, r)`` or ``(M,)`` residual, written with
            :func:`first_derivative`, :func:`second_derivative`, :func:`gradient`,
            :func:`hessian`, :func:`laplacian`.
        domain: ``((low, high), ...)`` per input coordinate, mapped affinely onto ``[-1, 1]``
            for the network's features and used to draw fresh collocation points.
        num_fields: outputs of the network (field 0 is the observed one).
    """

    residual_fn: Callable
    domain: tuple
    num_fields: int = 1

    def __post_init__(self):
        if not callable(self.residual_fn):
            raise TypeError(f"residual: expected a function (u, z, coefficients) -> residual, got {self.residual_fn!r}")
        try:
            domain = tuple((float(lo), float(hi)) for lo, hi in self.domain)
        except (TypeError, ValueError):
            raise ValueError(f"domain: expected ((low, high), ...) per input coordinate, got {self.domain!r}") from None
        if not domain or any(not lo < hi for lo, hi in domain):
            raise ValueError(f"domain: expected low < high for every coordinate, got {self.domain!r}")
        object.__setattr__(self, "domain", domain)

    @property
    def d_in(self) -> int:
        return len(self.domain)

    @property
    def bounds(self) -> tuple:
        """``(low, high)`` corners of the box."""
        return tuple(zip(*self.domain))

    def embed(self, z):
        """Network features: ``z`` mapped onto ``[-1, 1]`` per coordinate."""
        return _affine_embed(z, self.bounds)

    def residual(self, u, z, coefficients):
        """``(M, r)`` residual (a ``(M,)`` result becomes one column)."""
        out = self.residual_fn(u, z, coefficients)
        return out[:, None] if out.ndim == 1 else out


def burgers_residual(u, z, coefficients):
    """Viscous Burgers ``R = u_t + u u_x - nu u_xx`` on points ``z = (x, t)``."""
    u_x, u_xx = second_derivative(u, z, 0)
    value, u_t = first_derivative(u, z, 1)
    return u_t + value * u_x - coefficients["nu"] * u_xx


def vorticity_residual(u, z, coefficients, *, forcing_amplitude=0.0, forcing_wavenumber=4, drag=0.0):
    """``(M, 2)`` residuals (transport, Poisson) of the fields ``(w, psi)`` at ``z = (x, y, t)``:
    ``w_t + psi_y w_x - psi_x w_y - nu lap w + drag w - f`` with ``f = A sin(k y)``, and ``lap psi + w``."""
    d_x, d_xx = second_derivative(u, z, 0)
    d_y, d_yy = second_derivative(u, z, 1)
    values, d_t = first_derivative(u, z, 2)
    w = values[:, 0]
    forcing = forcing_amplitude * jnp.sin(forcing_wavenumber * z[:, 1])
    transport = (
        d_t[:, 0] + d_y[:, 1] * d_x[:, 0] - d_x[:, 1] * d_y[:, 0]
        - coefficients["nu"] * (d_xx[:, 0] + d_yy[:, 0]) + drag * w - forcing
    )
    poisson = d_xx[:, 1] + d_yy[:, 1] + w
    return jnp.stack([transport, poisson], axis=1)


@dataclasses.dataclass(frozen=True)
class BurgersEquation:
    """Viscous Burgers (:func:`burgers_residual`) on points ``z = (x, t)``.

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
        return _affine_embed(z, self.bounds)

    def residual(self, u, z, coefficients):
        """``(M, 1)`` residual of ``u: (M, 2) -> (M, 1)``; ``coefficients["nu"]`` the viscosity."""
        return burgers_residual(u, z, coefficients)


@dataclasses.dataclass(frozen=True)
class VorticityEquation:
    """2-D Navier-Stokes in vorticity form (:func:`vorticity_residual`) on the periodic square.

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

    def residual(self, u, z, coefficients):
        """``(M, 2)`` residuals of ``u: (M, 3) -> (M, 2)`` = ``(w, psi)``."""
        return vorticity_residual(u, z, coefficients, forcing_amplitude=self.forcing_amplitude,
                                  forcing_wavenumber=self.forcing_wavenumber, drag=self.drag)
