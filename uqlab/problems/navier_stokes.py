"""2-D incompressible Navier-Stokes (vorticity form): differentiable reference solver.

On the periodic square ``[0, 2 pi)^2``::

    w_t + u . grad(w) = nu lap(w) - drag w + f(x, y),
    u = (psi_y, -psi_x),   -lap(psi) = w,

so ``div u = 0`` by construction and ``w = v_x - u_y``. Arrays are indexed ``w[..., i, j] =
w(x_i, y_j)`` with ``x_i = 2 pi i / n`` ("ij" indexing).

Method: Fourier pseudo-spectral (``rfft2``) with the 2/3-rule dealiasing of the advection term
(Orszag 1971), and ETDRK4 in time (Cox & Matthews 2002; Kassam & Trefethen 2005), which
integrates the linear part ``-nu |k|^2 - drag`` exactly and the advection and forcing with
fourth order; the integrator and the Fourier operators (stream function, velocity, random
initial fields) are in :mod:`uqlab.problems.spectral`. Output times are hit exactly by
adjusting the step per output interval. Everything is JAX, so :func:`solve_jax` is
differentiable with respect to ``nu``, ``drag``, the forcing field and the initial vorticity.

Cases: Kolmogorov flow (forcing ``A sin(k y)`` plus linear drag, the benchmark of Kochkov et al.
2021) by default, decaying turbulence (``forcing="none"``) from a Gaussian random initial field
(as in Li et al. 2021), and the exact Taylor-Green vortex for verification.

Precision: the JAX functions compute in the configured precision; use
``with jax.enable_x64(True):`` for float64. :func:`solve` does this itself.

References:
    Kochkov, Smith, Alieva, Wang, Brenner, Hoyer (2021). Machine learning-accelerated
    computational fluid dynamics. PNAS 118(21).

    Li, Kovachki, Azizzadenesheli, Liu, Bhattacharya, Stuart, Anandkumar (2021). Fourier neural
    operator for parametric partial differential equations. ICLR.

    Kassam, Trefethen (2005). Fourth-order time-stepping for stiff PDEs. SIAM J. Sci. Comput.
    26(4), 1214-1233.

    Taylor, Green (1937). Mechanism of the production of small eddies from large ones. Proc. R.
    Soc. Lond. A 158, 499-521.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from uqlab._validate import check_choice, check_finite, check_positive, check_positive_int
from uqlab.problems import spectral
from uqlab.problems.forcing import Forcing, as_forcing, kolmogorov

__all__ = [
    "Forcing", "kolmogorov", "taylor_green", "COURANT_STABLE", "cfl_time_step", "solve_jax", "solve", "forward",
    "inverse",
]

COURANT_STABLE = 2.8
"""Stability limit of the advective Courant number ``max(|u| + |v|) k_max dt`` (ETDRK4 reduces
to RK4 for advection, stable on the imaginary axis up to ``2 sqrt(2)``)."""


# ---------------------------------------------------------------------------------------------
# Exact solution
# ---------------------------------------------------------------------------------------------


def taylor_green(nu, n: int, t, *, k: int = 1) -> np.ndarray:
    """Exact Taylor-Green vortex ``w = 2 k cos(k x) cos(k y) exp(-2 k^2 nu t)``.

    Its stream function ``psi = w / (2 k^2)`` is proportional to ``w``, so ``u . grad(w) = 0``
    and the flow decays by pure diffusion (Taylor & Green 1937).

    Returns:
        float64 array of shape ``(len(t), n, n)``.
    """
    check_positive("nu", nu)
    spectral.check_even_grid(n)
    check_positive_int("k", k)
    t = spectral.check_points("t", t, low=0.0)
    x = spectral.coordinates(n)
    shape = 2 * k * np.cos(k * x)[:, None] * np.cos(k * x)[None, :]
    return shape * np.exp(-2 * k**2 * nu * t)[:, None, None]


# ---------------------------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------------------------


def _speed(w: np.ndarray) -> float:
    """``max(|u| + |v|)`` over all of ``w (..., n, n)``."""
    u, v = spectral.velocity(w)
    return float(np.max(np.abs(u) + np.abs(v), initial=0.0))


def cfl_time_step(w: np.ndarray, nu, forcing="none", *, courant: float = 1.0) -> float:
    """Time step with advective Courant number ``S k_max dt = courant``, ``k_max = n / 3``.

    ``S = max(|u| + |v|)`` is the larger of the speed of ``w`` (n, n) and of the laminar
    response to the forcing (``w_hat = f_hat / (nu |k|^2 + drag)``), a bound on what forcing
    can build up. ETDRK4 is stable up to ``courant = COURANT_STABLE``; :func:`solve` defaults
    to ``courant = 1``.

    Args:
        w: vorticity ``(n, n)``.
        nu: viscosity > 0.
        forcing: as in :func:`solve`.
        courant: target Courant number.
    """
    check_positive("nu", nu)
    check_positive("courant", courant)
    forcing = as_forcing(forcing)
    n = w.shape[-1]
    f_hat = np.fft.rfft2(forcing.evaluate(n))
    kx, ky, *_ = spectral.wavenumbers_2d(n)
    damping = nu * (kx**2 + ky**2) + forcing.drag
    laminar = np.fft.irfft2(np.divide(f_hat, damping, out=np.zeros_like(f_hat), where=damping > 0),
                            s=(n, n))
    speed = max(_speed(w), _speed(laminar), 1e-12)
    return courant / (speed * n / 3)


def _solve(nu, drag, w0, f, times, *, first_steps: int, steps: int):
    n = w0.shape[-1]
    kx, ky, _, dx, dy, mask = spectral.wavenumbers_2d(n)
    f_hat = jnp.fft.rfft2(f)

    def nonlinear(w_hat):
        u, v = spectral.velocity_hat(w_hat, n, jnp)
        wx = jnp.fft.irfft2(1j * dx * w_hat, s=(n, n))
        wy = jnp.fft.irfft2(1j * dy * w_hat, s=(n, n))
        return f_hat - mask * jnp.fft.rfft2(u * wx + v * wy)

    lin = -nu * (kx**2 + ky**2) - drag
    w_hat = spectral.integrate_etdrk4(jnp.fft.rfft2(w0), times, lin, nonlinear,
                             first_steps=first_steps, steps=steps)
    return jnp.fft.irfft2(w_hat, s=(n, n))


_solve_jit = jax.jit(_solve, static_argnames=("first_steps", "steps"))


def solve_jax(nu, w0, t, *, dt: float, forcing=None, drag=0.0) -> jax.Array:
    """Vorticity at times ``t`` from ``w0``, differentiable in ``nu``, ``w0``, forcing and drag.

    Args:
        nu: viscosity (scalar, may be traced).
        w0: initial vorticity ``(n, n)``, ``n`` even.
        t: concrete sorted non-decreasing times >= 0 (not traced).
        dt: concrete largest time step; each output interval is split into equal steps <= dt.
        forcing: forcing field ``(n, n)`` or None for none (may be traced).
        drag: linear drag coefficient (may be traced).

    Returns:
        ``w`` of shape ``(len(t), n, n)``.
    """
    t = spectral.check_points("t", t, low=0.0, non_decreasing=True)
    check_positive("dt", dt)
    first_steps, steps = spectral.step_counts(t, dt)
    real = jnp.result_type(float)  # float64 under enable_x64, else float32
    w0 = jnp.asarray(w0, dtype=real)
    f = jnp.zeros_like(w0) if forcing is None else jnp.asarray(forcing, dtype=real)
    return _solve_jit(jnp.asarray(nu, dtype=real), jnp.asarray(drag, dtype=real), w0, f,
                      jnp.asarray(t, dtype=real), first_steps=first_steps, steps=steps)


def _initial_vorticity(w0, n: int, seed) -> np.ndarray:
    if w0 is None:
        return spectral.random_vorticity(n, seed)
    w0 = np.asarray(w0, dtype=float)
    if w0.shape != (n, n):
        raise ValueError(f"w0: expected shape {(n, n)} (n={n}), got {w0.shape}")
    check_finite("w0", w0)
    return w0


def solve(nu, *, t=(0.0, 1.0), n: int = 64, forcing="kolmogorov", w0=None, seed: int = 0,
          dt: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reference vorticity ``w(t_i, x, y)`` in float64 (numpy).

    Args:
        nu: viscosity, finite and > 0.
        t: 1-D sorted non-decreasing output times >= 0.
        n: even grid size >= 8 (a power of two is fastest).
        forcing: ``"kolmogorov"`` (:func:`kolmogorov` defaults), ``"none"`` (decaying flow), a
            :class:`Forcing`, or a callable ``f(x, y)`` on "ij" meshgrids (no drag).
        w0: initial vorticity ``(n, n)``; None draws :func:`random_vorticity` ``(n, seed)``.
        seed: seed of the random initial field (ignored when ``w0`` is given).
        dt: largest time step; None takes :func:`cfl_time_step` (Courant number 1); larger
            than its stability limit (Courant number :data:`COURANT_STABLE`) is an error.

    Returns:
        ``(times, w)``: ``times`` (len(t),) and ``w`` of shape ``(len(t), n, n)``.

    Raises:
        ValueError: if an argument is out of range or ``dt`` exceeds the stability limit; naming
            ``n`` if the solution became non-finite or the grid does not resolve it (the top 20%
            of the dealiased Fourier modes exceed 0.2 of the largest coefficient and the
            initial field's share).
    """
    check_positive("nu", nu)
    spectral.check_even_grid(n)
    t = spectral.check_points("t", t, low=0.0, non_decreasing=True)
    forcing = as_forcing(forcing)
    w0 = _initial_vorticity(w0, n, seed)
    limit = cfl_time_step(w0, nu, forcing, courant=COURANT_STABLE)
    dt = cfl_time_step(w0, nu, forcing) if dt is None else dt
    check_positive("dt", dt)
    if dt > limit:
        raise ValueError(f"dt: expected <= {limit:.4g} for a stable step (Courant number "
                         f"max(|u|+|v|) (n/3) dt <= {COURANT_STABLE}), got {dt}")
    with jax.enable_x64(True):
        w = np.asarray(solve_jax(nu, w0, t, dt=dt, forcing=forcing.evaluate(n), drag=forcing.drag))
    _check_result(w, dt, nu, w0)
    return t, w


def _check_result(w: np.ndarray, dt: float, nu, w0: np.ndarray) -> None:
    """Raise naming ``n`` if the flow became non-finite or the grid does not resolve it.

    Not resolved: the Fourier tail (:func:`uqlab.problems._resolution.tail_ratio`, dealiased modes)
    of some snapshot exceeds both 0.2 and the initial field's own tail (random initial fields
    start at 0.1-0.23; resolved runs then stay below 0.07, a 16 x 16 Kolmogorov flow at
    ``nu = 1e-5`` climbs to 0.5).
    """
    from uqlab.problems._resolution import check_resolved, tail_ratio

    n = w.shape[-1]
    kx, ky = np.abs(np.fft.fftfreq(n, 1.0 / n))[:, None], np.fft.rfftfreq(n, 1.0 / n)[None, :]
    tail = tail_ratio(np.fft.rfft2(np.where(np.isfinite(w), w, 0.0)), np.maximum(kx, ky), n / 3)
    initial = tail_ratio(np.fft.rfft2(w0[None]), np.maximum(kx, ky), n / 3)
    check_resolved(w, tail, grid=f"n={n}", nu=nu, raise_above=max(0.2, initial), warn_above=None,
                   advice=f"use a larger n (a finer grid), a larger nu, or a smaller dt (was {dt:.3g})")
    courant = _speed(w) * w.shape[-1] / 3 * dt
    if courant > COURANT_STABLE:
        warnings.warn(f"navier_stokes.solve: the flow reached Courant number {courant:.3g} > "
                      f"{COURANT_STABLE} with dt={dt}; results may be inaccurate, pass a "
                      "smaller dt", RuntimeWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------
# Problems: forward (reconstruct w) and inverse (infer nu) from sparse noisy vorticity
# ---------------------------------------------------------------------------------------------

_SIZES = {  # mode -> (observations forward, inverse, fixed collocation points, fresh points per training step)
    "quick": (300, 600, 200, None),
    "default": (1000, 2000, 3000, 1000),
    "full": (2000, 4000, 8000, 4000),
}

LBFGS_STEPS = {"quick": 0, "default": 2000, "full": 10000}
"""L-BFGS steps per NUTS chain after Adam, on the sampled posterior (see
:data:`uqlab.problems.burgers.LBFGS_STEPS`): Adam starts with a small fixed collocation set missed
nu as Burgers did before its L-BFGS finish and larger fixed set (``docs/measurements.md``)."""

WIDTHS = {"quick": (16, 16), "default": (32, 32), "full": (64, 64, 64)}
"""Hidden widths of the ``(w, psi)`` network per mode."""

ADAM_STEPS = {"quick": (800, 800), "default": (3000, 6000), "full": (20000, 20000)}
"""Adam steps per mode (see :data:`uqlab.problems.burgers.ADAM_STEPS`): as for Burgers, NUTS
chains start from Adam-optimised prior draws (from the prior they need most of the warmup to
reach the typical set), collocation points are resampled in every training step, and MC dropout
uses the rate of :func:`uqlab.problems.pde.method_settings` (dropout noise in the residual
biases nu; see ``docs/measurements.md``)."""


def _problem(inverse: bool, *, seed: int, quick: bool, full: bool, num_obs, noise: float, num_collocation, observations, noise_seed=None,
             nu: float, t_max: float, n: int, num_t: int, forcing: str):
    from uqlab.problems import pde

    mode = pde.mode_of(quick, full)
    sizes = _SIZES[mode]
    num_obs = sizes[1 if inverse else 0] if num_obs is None else num_obs
    num_collocation = sizes[2] if num_collocation is None else num_collocation
    resample_size = None if sizes[3] is None else min(sizes[3], num_collocation)
    pde.check_options(num_obs=num_obs, noise=noise, num_collocation=num_collocation)
    check_positive("nu", nu)
    check_positive("t_max", t_max)
    check_positive_int("num_t", num_t, minimum=2)
    check_choice("forcing", forcing, {"kolmogorov", "none"})
    w0 = spectral.random_vorticity(n, seed, alpha=4.0, tau=2.0)
    times, w = solve(nu, t=np.linspace(0.0, t_max, num_t), n=n, forcing=forcing, w0=w0)
    x = spectral.coordinates(n)
    tt, xx, yy = np.meshgrid(times, x, x, indexing="ij")
    points = np.stack([xx.ravel(), yy.ravel(), tt.ravel()], axis=1)
    rng = np.random.default_rng(seed)
    collocation = np.concatenate(
        [rng.uniform(0, 2 * np.pi, (num_collocation, 2)), rng.uniform(0, t_max, (num_collocation, 1))], axis=1
    )
    force = kolmogorov() if forcing == "kolmogorov" else None

    def make_model(collocation, noise_scale, known_nu, output_scale, widths):
        from uqlab.models.likelihoods import Gaussian
        from uqlab.models.pinn import PINN, VorticityEquation

        equation = VorticityEquation(
            time_span=(0.0, t_max), forcing_amplitude=4.0 if force else 0.0, drag=force.drag if force else 0.0
        )
        return PINN(
            equation, collocation, widths=widths, likelihood=Gaussian(noise_scale=noise_scale),
            residual_scale=0.05 * output_scale, nu=known_nu, log_nu_prior=(math.log(0.05), 1.0),
            output_scale=output_scale, resample=True, resample_size=resample_size,
        )

    kind = "inverse: infer nu" if inverse else "forward: reconstruct w"
    return pde.build(
        f"ns-{'inverse' if inverse else 'forward'}", points=points, field=w.ravel(), grid_shape=(num_t, n, n),
        test_index=pde.subgrid((num_t, n, n), (1, 2, 2)), collocation=collocation, num_obs=num_obs,
        noise=noise, rng=rng, make_model=make_model, mode=mode, nu=float(nu), inverse=inverse,
        settings=pde.method_settings(mode, *ADAM_STEPS[mode], lbfgs_steps=LBFGS_STEPS[mode],
                                     num_warmup=150 if mode == "default" else None), widths=WIDTHS[mode],
        observations=observations, noise_seed=noise_seed,
        description=f"2-D Navier-Stokes vorticity ({kind}, {forcing} forcing), nu={nu:.4g}, {n}x{n}x{num_t} grid, "
        f"{num_obs} observations, {noise:.0%} noise",
    )


def forward(*, seed: int = 0, quick: bool = False, full: bool = False, num_obs: int | None = None,
            noise: float = 0.02, num_collocation: int | None = None, nu: float = 0.05, t_max: float = 1.0,
            n: int = 32, num_t: int = 5, forcing: str = "none", observations: dict | None = None):
    """Forward Navier-Stokes problem: reconstruct ``w(t, x, y)`` from sparse noisy vorticity.

    The reference is :func:`solve` on an ``n x n`` grid at ``num_t`` times in ``[0, t_max]``
    from a smooth seeded random field (``alpha=4, tau=2``), decaying (``forcing="none"``) or
    Kolmogorov-forced. Observations: ``num_obs`` grid points with noise ``noise * std(w)``; test
    set: every 2nd point in x and y at every time, noise-free.

    Args:
        seed: seed of the initial field, observations, noise and collocation points.
        quick, full: smaller or paper-quality sizes and method settings.
        num_obs: observations (None: 300 quick, 1000 default, 2000 full).
        noise: noise relative to ``std(w)``, >= 0.
        num_collocation: fixed residual points, the samplers' posterior (None: 200 quick, 3000
            default, 8000 full); training steps draw 1000 (default) or 4000 (full) fresh ones.
        nu: viscosity, > 0.
        t_max, n, num_t: time span, grid size and number of snapshots.
        forcing: "none" or "kolmogorov".
        observations: the user's own measurements ``{"x": (n, d_in), "y": (n, 1)}`` in place of
            the generated ones (see :func:`uqlab.problems.pde.build`).

    Raises:
        ValueError: naming a bad argument.
    """
    return _problem(False, seed=seed, quick=quick, full=full, num_obs=num_obs, noise=noise,
                    num_collocation=num_collocation, nu=nu, t_max=t_max, n=n, num_t=num_t, forcing=forcing,
                    observations=observations)


def inverse(*, seed: int = 0, quick: bool = False, full: bool = False, num_obs: int | None = None,
            noise: float = 0.01, num_collocation: int | None = None, nu: float = 0.05, t_max: float = 1.0,
            n: int = 32, num_t: int = 5, forcing: str = "none", observations: dict | None = None,
            noise_seed: int | None = None):
    """Inverse Navier-Stokes problem: infer the viscosity (prior ``log nu ~ N(log 0.05, 1)``).

    As :func:`forward` (``num_obs`` None: 600 quick, 2000 default, 4000 full; 1% noise), with
    ``quantities=("nu",)`` scored against the true ``nu``. ``noise_seed`` redraws only the
    observation noise (same points), for coverage studies over replicated data.
    """
    return _problem(True, seed=seed, quick=quick, full=full, num_obs=num_obs, noise=noise,
                    num_collocation=num_collocation, nu=nu, t_max=t_max, n=n, num_t=num_t, forcing=forcing,
                    observations=observations, noise_seed=noise_seed)
