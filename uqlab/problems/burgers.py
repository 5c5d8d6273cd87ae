"""Viscous Burgers equation: differentiable reference solver and exact solution.

The problem is the classic physics-informed benchmark (Raissi et al. 2019)::

    u_t + u u_x = nu u_xx,   x in [-1, 1],  t >= 0,
    u(0, x) = -sin(pi x),    u(t, -1) = u(t, 1) = 0,

whose standard case ``nu = 0.01 / pi`` forms a steep, stationary shock at ``x = 0`` from
``t ~ 1 / pi`` on (maximum slope -152.00516 at ``t = 1.6037 / pi``, Basdevant et al. 1986).
How closely this solver reproduces it, its accuracy and its cost are in ``docs/measurements.md``
(measured by ``benchmarks/solver_accuracy.py``).

Sections of this module:

1. *Burgers solver*: Fourier pseudo-spectral in space, ETDRK4 in time (the integrator of
   :mod:`uqlab.problems.spectral`, shared with :mod:`uqlab.problems.navier_stokes`), written in
   JAX so the solution is differentiable with respect to ``nu`` (:func:`solve_jax`), plus
   spectral evaluation at arbitrary points (:func:`interpolate`) and a validated numpy facade
   (:func:`solve`).
2. *Exact solution* through the Cole-Hopf transform (:func:`cole_hopf`).
3. *Problems*: forward (reconstruct ``u``) and inverse (infer ``nu``).

Why Fourier on a Dirichlet problem: ``-sin(pi x)`` is 2-periodic and odd about both ``x = 0`` and
``x = +-1``. Burgers' equation preserves both symmetries, so the 2-periodic solution vanishes at
``x = +-1`` for all time: the periodic problem *is* the Dirichlet problem, and a Fourier method
solves it with spectral accuracy and no boundary treatment. The same argument makes the
Cole-Hopf formula on the real line exact here.

Precision: the JAX functions compute in the precision JAX is configured for. Call them inside
``with jax.enable_x64(True):`` for float64, which the accuracy figures quoted here assume;
:func:`solve` does this itself and never changes the global configuration.

References:
    Basdevant, Deville, Haldenwang, Lacroix, Ouazzani, Peyret, Orlandi, Patera (1986).
    Spectral and finite difference solutions of the Burgers equation. Computers & Fluids 14(1).

    Kassam, Trefethen (2005). Fourth-order time-stepping for stiff PDEs. SIAM J. Sci. Comput.
    26(4), 1214-1233.

    Raissi, Perdikaris, Karniadakis (2019). Physics-informed neural networks. J. Comput. Phys.
    378, 686-707.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from uqlab._validate import check_positive, check_positive_int
from uqlab.problems.spectral import check_points, integrate_etdrk4, step_counts

__all__ = [
    "NU_CLASSIC",
    "DEFAULT_RESOLUTION",
    "grid",
    "time_step",
    "solve_jax",
    "interpolate",
    "solve",
    "cole_hopf",
    "forward",
    "inverse",
]

NU_CLASSIC = 0.01 / math.pi
"""The viscosity of the classic benchmark (Raissi et al. 2019)."""

DEFAULT_RESOLUTION = 1024
"""Default number of Fourier grid points on [-1, 1); resolves the ``nu = 0.01/pi`` shock."""

_CFL = 1.0
"""Advective Courant number ``max|u| k_max dt`` of the default step (stable up to ~2.8)."""

_CHUNK = 4096
"""Points per :func:`interpolate` call in :func:`solve` (memory ``16 N _CHUNK`` bytes)."""

# ---------------------------------------------------------------------------------------------
# 1. Burgers: Fourier pseudo-spectral + ETDRK4
# ---------------------------------------------------------------------------------------------


def grid(resolution: int = DEFAULT_RESOLUTION) -> np.ndarray:
    """The solver's grid ``x_j = -1 + 2 j / N``, ``j = 0..N-1`` (``x = 1`` is ``x = -1``)."""
    return -1.0 + 2.0 * np.arange(resolution) / resolution


def time_step(resolution: int = DEFAULT_RESOLUTION) -> float:
    """Largest ETDRK4 step: advective Courant number ``max|u| k_max dt = 1`` with ``|u| <= 1``.

    ``k_max = pi N / 2`` is the largest resolved wavenumber; ``|u| <= max|u(0)| = 1`` by the
    maximum principle. The viscous term is integrated exactly, so it sets no limit.
    """
    return _CFL / (math.pi * resolution / 2)


def _wavenumbers(resolution: int):
    """``k = pi m`` (period 2) for the rfft modes; ``i k`` with the Nyquist mode zeroed."""
    k = jnp.pi * jnp.arange(resolution // 2 + 1)
    return k, (1j * k).at[-1].set(0.0)


def _solve_hat(nu, times, *, resolution: int, first_steps: int, steps: int):
    k, ik = _wavenumbers(resolution)

    def nonlinear(v_hat):  # -(u^2 / 2)_x, conservative form
        u = jnp.fft.irfft(v_hat, resolution)
        return -0.5 * ik * jnp.fft.rfft(u * u)

    u0 = -jnp.sin(jnp.pi * jnp.asarray(grid(resolution)))
    v_hat = integrate_etdrk4(jnp.fft.rfft(u0), times, -nu * k**2, nonlinear,
                             first_steps=first_steps, steps=steps)
    return jnp.fft.irfft(v_hat, resolution, axis=-1)


_solve_hat_jit = jax.jit(_solve_hat, static_argnames=("resolution", "first_steps", "steps"))


def solve_jax(nu, t, *, resolution: int = DEFAULT_RESOLUTION) -> jax.Array:
    """Burgers solution on the solver grid :func:`grid`, differentiable with respect to ``nu``.

    Space: Fourier pseudo-spectral on ``N = resolution`` points of the period ``[-1, 1)``,
    nonlinear term ``-(u^2/2)_x`` evaluated pseudo-spectrally. Time: ETDRK4 (exact viscous
    decay ``exp(-nu k^2 h)``), steps of at most :func:`time_step` chosen to land exactly on
    each requested time.

    Args:
        nu: viscosity > 0 (float or traced scalar: ``jax.grad`` with respect to it works).
        t: concrete, sorted non-decreasing times >= 0 (numpy array or sequence; not traced).
        resolution: number of grid points, even (a power of two is fastest).

    Returns:
        ``u`` of shape ``(len(t), resolution)`` at ``(t_i, grid(resolution)_j)``.
    """
    t = check_points("t", t, low=0.0, non_decreasing=True)
    first_steps, steps = step_counts(t, time_step(resolution))
    real = jnp.result_type(float)  # float64 under enable_x64, else float32
    return _solve_hat_jit(jnp.asarray(nu, dtype=real), jnp.asarray(t, dtype=real),
                          resolution=resolution, first_steps=first_steps, steps=steps)


def interpolate(u_grid: jax.Array, x) -> jax.Array:
    """Evaluate the trigonometric interpolant of grid values at arbitrary points.

    ``u(x) = (1/N) sum_m w_m Re(c_m exp(i pi m (x + 1)))`` with ``c = rfft(u_grid)``,
    ``w_0 = w_{N/2} = 1`` and ``w_m = 2`` otherwise: exact for the band-limited solution the
    spectral solver represents, so no interpolation error is added (differentiable).
    Cost and memory are ``O(N len(x))``.

    Args:
        u_grid: values on :func:`grid`, shape ``(..., N)``.
        x: points in ``[-1, 1]``, shape ``(P,)``.

    Returns:
        Values of shape ``(..., P)``.
    """
    n = u_grid.shape[-1]
    m = jnp.arange(n // 2 + 1)
    weights = jnp.full(m.shape, 2.0).at[0].set(1.0).at[-1].set(1.0) / n
    phase = jnp.exp(1j * jnp.pi * m[:, None] * (jnp.asarray(x)[None, :] + 1.0))
    return ((jnp.fft.rfft(u_grid, axis=-1) * weights) @ phase).real


def _check_nu(nu) -> float:
    check_positive("nu", nu)
    return float(nu)


def solve(nu, x, t, *, resolution: int | None = None) -> np.ndarray:
    """Reference Burgers solution ``u(t_i, x_j)`` in float64 (numpy).

    Runs :func:`solve_jax` under ``jax.enable_x64(True)`` and evaluates the spectral interpolant
    at ``x`` (in chunks of :data:`_CHUNK` points, to bound memory). Accuracy against a finer
    run and :func:`cole_hopf`, and timings: ``docs/measurements.md``.

    Args:
        nu: viscosity, finite and > 0.
        x: 1-D points in ``[-1, 1]``.
        t: 1-D sorted non-decreasing times >= 0.
        resolution: even number of grid points >= 16; default :data:`DEFAULT_RESOLUTION`.
            Steep shocks need the shock width ``~ 2 nu`` to span a few grid spacings ``2/N``.

    Returns:
        Array of shape ``(len(t), len(x))``.

    Raises:
        ValueError: if an argument is out of range, naming it; naming ``resolution`` if the
            solution is non-finite or not resolved (its top 20% of Fourier modes exceed 1e-2 of
            the largest coefficient, a relative error of about 0.5%; above 1e-4 it warns).
    """
    nu = _check_nu(nu)
    x = check_points("x", x, low=-1.0, high=1.0)
    t = check_points("t", t, low=0.0, non_decreasing=True)
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    check_positive_int("resolution", resolution, minimum=16)
    if resolution % 2:
        raise ValueError(f"resolution: expected an even number of grid points, got {resolution}")
    with jax.enable_x64(True):
        u = solve_jax(nu, t, resolution=resolution)
        _check_resolved(np.asarray(u), nu, resolution)
        chunks = np.array_split(x, -(-x.size // _CHUNK))
        return np.concatenate([np.asarray(interpolate(u, chunk)) for chunk in chunks], axis=-1)


def _check_resolved(u: np.ndarray, nu: float, resolution: int) -> None:
    """Raise naming ``resolution`` if ``u`` is non-finite or its Fourier tail exceeds 1e-2; warn above 1e-4.

    The viscous shock of ``u_t + u u_x = nu u_xx`` with jump ``2U`` is ``~ 2 nu / U`` wide
    (``U <= 1`` here); it needs a few grid spacings ``2 / N``, so the advice is ``N >= 2 / nu``
    rounded up to a power of two. The tail test itself is a posteriori (smooth solutions, e.g.
    before the shock forms, pass on coarse grids).
    """
    from uqlab.problems._resolution import check_resolved, tail_ratio

    coefficients = np.fft.rfft(np.where(np.isfinite(u), u, 0.0), axis=-1)
    tail = tail_ratio(coefficients, np.arange(coefficients.shape[-1]), coefficients.shape[-1] - 1)
    need = 1 << max(4, math.ceil(math.log2(2.0 / nu)))
    advice = (f"the viscous shock is ~2 nu = {2 * nu:.2g} wide against a grid spacing 2/N = {2 / resolution:.2g}; "
              f"use resolution >= {need} or a larger nu")
    check_resolved(u, tail, grid=f"resolution={resolution}", nu=nu, raise_above=1e-2, warn_above=1e-4, advice=advice)


# ---------------------------------------------------------------------------------------------
# 2. Exact solution (Cole-Hopf)
# ---------------------------------------------------------------------------------------------


def cole_hopf(nu, x, t, *, quadrature_points: int = 200) -> np.ndarray:
    """Exact solution through the Cole-Hopf transform, by Gauss-Hermite quadrature.

    With ``u = -2 nu (log phi)_x`` Burgers' equation becomes the heat equation, whose solution
    for ``u(0, x) = -sin(pi x)`` gives (Basdevant et al. 1986, eq. 2.4)::

        u(t, x) = - int sin(pi (x - s)) f(x - s) exp(-s^2 / (4 nu t)) ds
                    / int f(x - s) exp(-s^2 / (4 nu t)) ds,
        f(y) = exp(-cos(pi y) / (2 pi nu)).

    Substituting ``s = sqrt(4 nu t) z`` turns both integrals into Gauss-Hermite form
    ``int g(z) exp(-z^2) dz``. Both sums are accumulated relative to their largest term
    (log-sum-exp), so small ``nu`` does not overflow. Small ``nu`` makes ``f`` sharply peaked;
    the default 200 nodes are converged for ``nu = 0.01/pi``, ``t <= 1`` (``docs/measurements.md``),
    for other cases check convergence by doubling ``quadrature_points``.

    Args:
        nu: viscosity, finite and > 0.
        x: 1-D points in ``[-1, 1]``.
        t: 1-D times >= 0 (any order).
        quadrature_points: number of Gauss-Hermite nodes.

    Returns:
        float64 array of shape ``(len(t), len(x))``.
    """
    nu = _check_nu(nu)
    x = check_points("x", x, low=-1.0, high=1.0)
    t = check_points("t", t, low=0.0)
    check_positive_int("quadrature_points", quadrature_points, minimum=2)
    z, w = special.roots_hermite(quadrature_points)
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    out = np.empty((t.size, x.size))
    for i, ti in enumerate(t):
        if ti == 0:
            out[i] = -np.sin(np.pi * x)
            continue
        y = x[:, None] - math.sqrt(4 * nu * ti) * z[None, :]
        log_terms = log_w - np.cos(np.pi * y) / (2 * np.pi * nu)
        terms = np.exp(log_terms - log_terms.max(axis=1, keepdims=True))
        out[i] = -np.sum(np.sin(np.pi * y) * terms, axis=1) / np.sum(terms, axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# 3. Problems: forward (reconstruct u) and inverse (infer nu) from sparse noisy observations
# ---------------------------------------------------------------------------------------------

_SIZES = {  # mode -> (observations forward, inverse, fixed collocation points, fresh points per training step)
    "quick": (200, 500, 200, None),
    "default": (500, 2000, 4000, 1000),
    "full": (1000, 2000, 16000, 4000),
}

WIDTHS = {"quick": (20, 20, 20), "default": (20, 20, 20, 20), "full": (32, 32, 32, 32, 32, 32)}
"""Hidden widths of the field network per mode (default: the 4 x 20 tanh net of ~1,340 weights)."""

ADAM_STEPS = {"quick": (1000, 1000), "default": (4000, 8000), "full": (20000, 20000)}
"""Adam steps per mode: NUTS starting points, then each ensemble member and the dropout net (see
:func:`uqlab.problems.pde.method_settings`). Why: from prior draws, NUTS on this posterior (thousands of
observations at 1% noise, a shock of width ~nu) spends its whole warmup far from the typical set
and its chains stick, so chains start from Adam-optimised prior draws (``init="map"``); fitting
the shock needs a few thousand Adam steps, and the ensemble and dropout nets train twice as long
at default with a cosine-decayed step. Collocation points are resampled in every training step
(``PINN(resample=True)``): with fixed points the trained nets meet the PDE at them but not
between them. MC dropout uses the rate of :func:`uqlab.problems.pde.method_settings`. The
measurements behind these choices are in ``docs/measurements.md``."""

LBFGS_STEPS = {"quick": 0, "default": 3000, "full": 10000}
"""L-BFGS steps per NUTS chain after Adam. NUTS samples the posterior with 4,000 fixed
collocation points (training steps draw 1,000 fresh ones) and its chains finish their start with
``LBFGS_STEPS`` L-BFGS steps on that posterior: Adam's starts sit well off the mode in nu, and
NUTS cannot cross that gap itself within its budget (measurements and run times in
``docs/measurements.md``)."""


def _problem(inverse: bool, *, seed: int, quick: bool, full: bool, num_obs, noise: float, num_collocation, observations, noise_seed=None,
             nu: float, t_max: float, num_x: int, num_t: int):
    from uqlab.problems import pde

    mode = pde.mode_of(quick, full)
    sizes = _SIZES[mode]
    num_obs = sizes[1 if inverse else 0] if num_obs is None else num_obs
    num_collocation = sizes[2] if num_collocation is None else num_collocation
    resample_size = None if sizes[3] is None else min(sizes[3], num_collocation)
    pde.check_options(num_obs=num_obs, noise=noise, num_collocation=num_collocation)
    nu = _check_nu(nu)
    check_positive("t_max", t_max)
    check_positive_int("num_x", num_x, minimum=2)
    check_positive_int("num_t", num_t, minimum=2)
    x, t = np.linspace(-1.0, 1.0, num_x), np.linspace(0.0, t_max, num_t)
    field = solve(nu, x, t).ravel()
    tt, xx = np.meshgrid(t, x, indexing="ij")
    points = np.stack([xx.ravel(), tt.ravel()], axis=1)
    rng = np.random.default_rng(seed)
    collocation = np.stack([rng.uniform(-1, 1, num_collocation), rng.uniform(0, t_max, num_collocation)], axis=1)

    def make_model(collocation, noise_scale, known_nu, output_scale, widths):
        from uqlab.models.likelihoods import Gaussian
        from uqlab.models.pinn import PINN, BurgersEquation

        return PINN(
            BurgersEquation(domain=((-1.0, 1.0), (0.0, t_max))), collocation, widths=widths,
            likelihood=Gaussian(noise_scale=noise_scale), residual_scale=0.05, nu=known_nu,
            log_nu_prior=(math.log(0.01), 1.0), output_scale=output_scale, adaptive_slopes=True, resample=True,
            resample_size=resample_size,
        )

    kind = "inverse: infer nu" if inverse else "forward: reconstruct u"
    return pde.build(
        f"burgers-{'inverse' if inverse else 'forward'}", points=points, field=field, grid_shape=(num_t, num_x),
        test_index=pde.subgrid((num_t, num_x), (4, 4)), collocation=collocation, num_obs=num_obs, noise=noise,
        rng=rng, make_model=make_model, mode=mode, nu=nu, inverse=inverse, settings=pde.method_settings(mode, *ADAM_STEPS[mode], lbfgs_steps=LBFGS_STEPS[mode], num_warmup=150 if mode == "default" else None),
        widths=WIDTHS[mode], observations=observations, noise_seed=noise_seed, description=f"Burgers ({kind}), nu={nu:.4g}, {num_obs} observations, {noise:.0%} noise",
    )


def forward(*, seed: int = 0, quick: bool = False, full: bool = False, num_obs: int | None = None,
            noise: float = 0.02, num_collocation: int | None = None, nu: float = NU_CLASSIC,
            t_max: float = 1.0, num_x: int = 256, num_t: int = 101, observations: dict | None = None):
    """Forward Burgers problem: reconstruct ``u(t, x)`` from sparse noisy observations, ``nu`` known.

    Observations are ``num_obs`` points of the ``num_t x num_x`` reference grid (:func:`solve`)
    with Gaussian noise of standard deviation ``noise * std(u)``; the test set is every 4th grid
    point per axis with the noise-free ``u``.

    Args:
        seed: data seed (observations, noise and collocation points).
        quick, full: smaller or paper-quality sizes and method settings.
        num_obs: observed points (None: 200 quick, 500 default, 1000 full).
        noise: noise level relative to ``std(u)``, >= 0.
        num_collocation: fixed residual points, those of the samplers' posterior (None: 200 quick,
            4000 default, 16000 full). Training steps of ensembles and MC dropout draw fresh
            ones instead: 1000 default, 4000 full (at most ``num_collocation``).
        nu: the viscosity, > 0.
        t_max, num_x, num_t: the reference grid on ``[-1, 1] x [0, t_max]``.
        observations: the user's own measurements ``{"x": (n, d_in), "y": (n, 1)}`` in place of
            the generated ones (see :func:`uqlab.problems.pde.build`).

    Raises:
        ValueError: naming a bad argument.
    """
    return _problem(False, seed=seed, quick=quick, full=full, num_obs=num_obs, noise=noise,
                    num_collocation=num_collocation, nu=nu, t_max=t_max, num_x=num_x, num_t=num_t,
                    observations=observations)


def inverse(*, seed: int = 0, quick: bool = False, full: bool = False, num_obs: int | None = None,
            noise: float = 0.01, num_collocation: int | None = None, nu: float = NU_CLASSIC,
            t_max: float = 1.0, num_x: int = 256, num_t: int = 101, observations: dict | None = None,
            noise_seed: int | None = None):
    """Inverse Burgers problem: infer ``nu`` (prior ``log nu ~ N(log 0.01, 1)``) and ``u``.

    As :func:`forward` (``num_obs`` None: 500 quick, 2000 default and full; 1% noise), with
    ``quantities=("nu",)`` scored against the true ``nu``. ``noise_seed`` redraws only the
    observation noise (same points), for coverage studies over replicated data.
    """
    return _problem(True, seed=seed, quick=quick, full=full, num_obs=num_obs, noise=noise,
                    num_collocation=num_collocation, nu=nu, t_max=t_max, num_x=num_x, num_t=num_t,
                    observations=observations, noise_seed=noise_seed)
