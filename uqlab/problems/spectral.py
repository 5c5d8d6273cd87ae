"""Fourier pseudo-spectral building blocks shared by the PDE reference solvers.

1. *ETDRK4* time stepping for semilinear systems ``v' = L v + N(v)`` with a diagonal ``L``
   (Fourier space): the linear part is integrated exactly, the nonlinear part to fourth order
   (Cox & Matthews 2002; Kassam & Trefethen 2005). Used by :mod:`uqlab.problems.burgers` and
   :mod:`uqlab.problems.navier_stokes`.
2. *Fourier operators on the periodic square* ``[0, 2 pi)^2`` (``rfft2``, "ij" indexing): the
   wavenumbers with the 2/3-rule dealiasing mask (Orszag 1971), the stream function and the
   divergence-free velocity of a vorticity field, and seeded Gaussian random fields.

References:
    Cox, Matthews (2002). Exponential time differencing for stiff systems. J. Comput. Phys.
    176(2), 430-455.

    Kassam, Trefethen (2005). Fourth-order time-stepping for stiff PDEs. SIAM J. Sci. Comput.
    26(4), 1214-1233.

    Li, Kovachki, Azizzadenesheli, Liu, Bhattacharya, Stuart, Anandkumar (2021). Fourier neural
    operator for parametric partial differential equations. ICLR.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from uqlab._validate import check_positive, check_positive_int

__all__ = [
    "Etdrk4Coefficients",
    "etdrk4_coefficients",
    "etdrk4_step",
    "step_counts",
    "integrate_etdrk4",
    "check_points",
    "check_even_grid",
    "coordinates",
    "wavenumbers_2d",
    "velocity_hat",
    "stream_function",
    "velocity",
    "random_vorticity",
]

# ---------------------------------------------------------------------------------------------
# 1. ETDRK4 for v' = L v + N(v) with diagonal L
# ---------------------------------------------------------------------------------------------


class Etdrk4Coefficients(NamedTuple):
    """Step-size dependent ETDRK4 coefficients, each with the shape of ``L``."""

    e: jax.Array
    e2: jax.Array
    q: jax.Array
    f1: jax.Array
    f2: jax.Array
    f3: jax.Array


def etdrk4_coefficients(lin: jax.Array, h, *, contour_points: int = 32) -> Etdrk4Coefficients:
    """ETDRK4 coefficients for a real diagonal operator ``lin`` and step ``h``.

    With ``z = h L``: ``e = exp(z)``, ``e2 = exp(z / 2)``, ``q = h (exp(z/2) - 1) / z`` and the
    three fourth-order weights ``f1 = h (-4 - z + e^z (4 - 3z + z^2)) / z^3``,
    ``f2 = h (2 + z + e^z (z - 2)) / z^3``, ``f3 = h (-4 - 3z - z^2 + e^z (4 - z)) / z^3``.
    These cancel catastrophically for small ``|z|``, so, following Kassam & Trefethen (2005),
    each is evaluated as its mean over ``contour_points`` points of the unit circle around
    ``z`` (Cauchy's integral formula), which is accurate for every ``z`` including 0.

    Args:
        lin: real array, the diagonal of ``L`` (e.g. ``-nu k^2``).
        h: step size (scalar, may be traced; ``h = 0`` gives the identity step).
        contour_points: number of contour points.

    Returns:
        The coefficients, real, with the shape of ``lin``.
    """
    z = h * lin
    roots = jnp.exp(1j * jnp.pi * (jnp.arange(1, contour_points + 1) - 0.5) / contour_points)
    lr = z[..., None] + roots
    elr = jnp.exp(lr)

    def mean(values):
        return h * jnp.mean(values, axis=-1).real

    return Etdrk4Coefficients(
        e=jnp.exp(z),
        e2=jnp.exp(z / 2),
        q=mean((jnp.exp(lr / 2) - 1) / lr),
        f1=mean((-4 - lr + elr * (4 - 3 * lr + lr**2)) / lr**3),
        f2=mean((2 + lr + elr * (lr - 2)) / lr**3),
        f3=mean((-4 - 3 * lr - lr**2 + elr * (4 - lr)) / lr**3),
    )


def etdrk4_step(v: jax.Array, nonlinear: Callable[[jax.Array], jax.Array], c: Etdrk4Coefficients):
    """One exponential time-differencing RK4 step (Cox & Matthews 2002; Kassam & Trefethen 2005).

    Args:
        v: state in the basis where ``L`` is diagonal.
        nonlinear: ``N(v)``, same shape as ``v``.
        c: coefficients from :func:`etdrk4_coefficients` for this step size.

    Returns:
        The state one step later.
    """
    nv = nonlinear(v)
    a = c.e2 * v + c.q * nv
    na = nonlinear(a)
    b = c.e2 * v + c.q * na
    nb = nonlinear(b)
    d = c.e2 * a + c.q * (2 * nb - nv)
    nd = nonlinear(d)
    return c.e * v + c.f1 * nv + 2 * c.f2 * (na + nb) + c.f3 * nd


def step_counts(times: np.ndarray, dt_max: float) -> tuple[int, int]:
    """Steps used by :func:`integrate_etdrk4` to hit ``times`` exactly with steps <= ``dt_max``.

    Returns:
        ``(first_steps, steps)``: steps from 0 to ``times[0]``, and steps per later interval
        (every interval uses the same count, with its own step ``gap / steps``, so one compiled
        loop serves all of them; very uneven ``times`` therefore cost extra steps).
    """
    times = np.asarray(times, dtype=float)

    def count(span):
        return math.ceil(span / dt_max - 1e-9) if span > 0 else 0

    return count(times[0]), count(np.diff(times).max(initial=0.0))


def integrate_etdrk4(
    v0: jax.Array,
    times: jax.Array,
    lin: jax.Array,
    nonlinear: Callable[[jax.Array], jax.Array],
    *,
    first_steps: int,
    steps: int,
) -> jax.Array:
    """Integrate ``v' = L v + N(v)`` from ``v(0) = v0`` and return ``v`` at each of ``times``.

    ``times[0]`` is reached in ``first_steps`` equal steps and each later interval in ``steps``
    equal steps (see :func:`step_counts`), so output times are hit exactly and nothing is
    interpolated in time. The interval loop is a ``lax.scan`` whose body is rematerialised
    (``jax.checkpoint``), so reverse-mode memory grows with ``len(times)``, not with the number
    of steps. Warns (when traced) if JAX runs in float32.

    Args:
        v0: initial state.
        times: sorted non-decreasing output times, ``times[0] >= 0`` (may be traced).
        lin: diagonal of ``L``, broadcastable to ``v0``.
        nonlinear: ``N(v)``.
        first_steps: static step count for ``[0, times[0]]``.
        steps: static step count for each later interval.

    Returns:
        Array of shape ``(len(times),) + v0.shape``.
    """
    if not jax.config.jax_enable_x64:
        warnings.warn("integrate_etdrk4: running in float32; wrap the call in "
                      "`with jax.enable_x64(True):` for float64 reference accuracy", stacklevel=2)

    def advance(v, span, count):
        if count == 0:
            return v
        coefficients = etdrk4_coefficients(lin, span / count)
        return jax.lax.fori_loop(0, count, lambda _, w: etdrk4_step(w, nonlinear, coefficients), v)

    @jax.checkpoint
    def interval(v, gap):
        v = advance(v, gap, steps)
        return v, v

    first = advance(v0, times[0], first_steps)
    _, rest = jax.lax.scan(interval, first, jnp.diff(times))
    return jnp.concatenate([first[None], rest])


def check_points(name: str, values, *, low: float = -np.inf, high: float = np.inf,
                 non_decreasing: bool = False) -> np.ndarray:
    """Validate a 1-D, non-empty, finite float array with values in ``[low, high]``.

    Raises:
        ValueError: naming ``name``, what was expected and what was given.
    """
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int((~np.isfinite(array)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    if array.min() < low or array.max() > high:
        raise ValueError(
            f"{name}: expected values in [{low}, {high}], got range [{array.min()}, {array.max()}]"
        )
    if non_decreasing and np.any(np.diff(array) < 0):
        first = int(np.argmax(np.diff(array) < 0))
        raise ValueError(
            f"{name}: expected non-decreasing values, got {name}[{first}] = {array[first]} > "
            f"{name}[{first + 1}] = {array[first + 1]}"
        )
    return array


# ---------------------------------------------------------------------------------------------
# 2. Fourier operators on the periodic square [0, 2 pi)^2 (numpy or JAX arrays alike)
# ---------------------------------------------------------------------------------------------


def coordinates(n: int) -> np.ndarray:
    """Grid coordinates ``2 pi j / n``, ``j = 0..n-1``, for either axis."""
    return 2 * np.pi * np.arange(n) / n


def wavenumbers_2d(n: int):
    """``rfft2`` wavenumbers ``kx (n, 1)``, ``ky (1, n//2+1)``, ``1/|k|^2`` (0 at k = 0), the
    derivative wavenumbers (Nyquist zeroed) and the 2/3-rule mask ``|kx|, |ky| < n/3``."""
    kx = np.fft.fftfreq(n, 1.0 / n)[:, None]
    ky = np.fft.rfftfreq(n, 1.0 / n)[None, :]
    k2 = kx**2 + ky**2
    inv_k2 = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    dx, dy = (np.where(np.abs(k) == n // 2, 0.0, k) for k in (kx, ky))
    mask = (np.abs(kx) < n / 3) & (ky < n / 3)
    return kx, ky, inv_k2, dx, dy, mask


def _namespace(w):
    return jnp if isinstance(w, jax.Array) else np


def velocity_hat(w_hat, n: int, xp):
    """``(u, v) = (psi_y, -psi_x)`` on the grid from ``w_hat = rfft2(w)``."""
    _, _, inv_k2, dx, dy, _ = wavenumbers_2d(n)
    psi_hat = w_hat * inv_k2
    return xp.fft.irfft2(1j * dy * psi_hat, s=(n, n)), xp.fft.irfft2(-1j * dx * psi_hat, s=(n, n))


def stream_function(w):
    """Stream function ``psi`` with ``-lap(psi) = w`` and zero mean, shape ``(..., n, n)``.

    Works on numpy (returns numpy) and JAX arrays (returns JAX, differentiable).
    """
    xp = _namespace(w)
    n = w.shape[-1]
    return xp.fft.irfft2(xp.fft.rfft2(w) * wavenumbers_2d(n)[2], s=(n, n))


def velocity(w):
    """Divergence-free velocity ``(u, v) = (psi_y, -psi_x)`` from vorticity ``w (..., n, n)``.

    Works on numpy (returns numpy) and JAX arrays (returns JAX, differentiable). The mean flow is
    taken to be zero (vorticity does not determine it).
    """
    xp = _namespace(w)
    return velocity_hat(xp.fft.rfft2(w), w.shape[-1], xp)


def random_vorticity(n: int = 64, seed: int = 0, *, alpha: float = 2.5, tau: float = 3.0,
                     rms: float = 1.0) -> np.ndarray:
    """Seeded Gaussian random field with covariance proportional to ``(-lap + tau^2)^-alpha``.

    The field of Li et al. (2021) used for Navier-Stokes initial data: white noise filtered by
    ``(|k|^2 + tau^2)^(-alpha/2)``, with the mean and Nyquist modes removed (so spectral
    derivatives of the field are exact) and the filter scaled so the expected root-mean-square
    vorticity is ``rms`` (a fixed scale, so the field stays Gaussian).
    ``alpha = 2.5`` gives samples in ``H^s`` for ``s < 1.5``.

    Returns:
        float64 array of shape ``(n, n)``.
    """
    check_even_grid(n)
    check_positive("alpha", alpha)
    check_positive("tau", tau)
    check_positive("rms", rms)
    k = np.fft.fftfreq(n, 1.0 / n)
    spectrum = (k[:, None] ** 2 + k[None, :] ** 2 + tau**2) ** (-alpha / 2)
    spectrum[0, 0] = 0.0
    spectrum[n // 2, :] = spectrum[:, n // 2] = 0.0
    spectrum *= rms / np.sqrt(np.mean(spectrum**2))
    noise = np.random.default_rng(seed).standard_normal((n, n))
    return np.fft.ifft2(np.fft.fft2(noise) * spectrum).real


def check_even_grid(n) -> None:
    """Validate a grid size ``n``: an even integer >= 8."""
    check_positive_int("n", n, minimum=8)
    if n % 2:
        raise ValueError(f"n: expected an even grid size, got {n}")
