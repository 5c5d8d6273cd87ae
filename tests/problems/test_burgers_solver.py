"""Tests of the Burgers reference solver against the exact Cole-Hopf solution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.problems import burgers

NU = burgers.NU_CLASSIC
X = np.linspace(-1.0, 1.0, 129)
T = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def relative_l2(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.fixture(scope="module")
def exact():
    return burgers.cole_hopf(NU, X, T)


@pytest.fixture(scope="module")
def default_solution():
    return burgers.solve(NU, X, T)


def test_cole_hopf_quadrature_converged(exact):
    # Doubling the Gauss-Hermite nodes changes nothing beyond roundoff (measured 5e-16).
    assert relative_l2(burgers.cole_hopf(NU, X, T, quadrature_points=400), exact) < 1e-11


def test_default_resolution_matches_cole_hopf(default_solution, exact):
    # Measured 1.4e-8 (N = 1024, float64). The error is deterministic discretisation error, so
    # a 10x margin only absorbs FFT-library roundoff differences between machines.
    assert relative_l2(default_solution, exact) < 1e-7


def test_spectral_convergence_under_refinement(default_solution, exact):
    # Measured 5.0e-3, 6.0e-5, 1.4e-8: each doubling gains > 80x once the shock is resolved.
    with pytest.warns(RuntimeWarning, match="resolution: the grid .resolution=256. barely resolves"):
        coarse = [burgers.solve(NU, X, T, resolution=256)]
    coarse.append(burgers.solve(NU, X, T, resolution=512))
    errors = [relative_l2(u, exact) for u in (*coarse, default_solution)]
    assert errors[0] > 20 * errors[1] > 400 * errors[2]


def test_initial_and_boundary_conditions(default_solution):
    np.testing.assert_allclose(default_solution[0], -np.sin(np.pi * X), atol=1e-13)
    np.testing.assert_allclose(default_solution[:, [0, -1]], 0.0, atol=1e-12)
    assert np.abs(default_solution).max() <= 1.0 + 1e-9  # maximum principle


def test_shock_is_steep(default_solution):
    # Basdevant et al. (1986): max |u_x| ~ 152 near t ~ 0.5; on this grid (h = 1/64) the finite
    # difference across x = 0 still shows a jump of almost 2 (measured 1.937).
    middle = X.size // 2
    jump = default_solution[2, middle - 1] - default_solution[2, middle + 1]
    assert jump > 1.9


def test_maximum_slope_matches_basdevant():
    # Basdevant et al. (1986) tabulate max |u_x| = 152.00516 at x = 0, t = 1.6037/pi. Measured:
    # 152.0051540 (N = 1024) and 152.0051616 (N = 2048); the tolerance covers the quoted
    # rounding (5e-6) plus the N = 1024 discretisation error (~8e-6).
    resolution = burgers.DEFAULT_RESOLUTION
    with jax.enable_x64(True):
        u = np.asarray(burgers.solve_jax(NU, [1.6037 / np.pi]))[0]
    k = np.pi * np.arange(resolution // 2 + 1)
    slope = np.fft.irfft(1j * k * np.fft.rfft(u), resolution)
    assert slope[resolution // 2] == pytest.approx(-152.00516, abs=2e-5)
    assert slope.min() == slope[resolution // 2]


def test_gradient_wrt_nu_matches_finite_difference():
    times = np.array([0.0, 0.25, 0.5])
    with jax.enable_x64(True):
        def objective(nu):
            return jnp.sum(burgers.solve_jax(nu, times, resolution=128)[-1] ** 2)

        nu, h = 0.05, 1e-7
        grad = float(jax.grad(objective)(nu))
        finite_difference = float((objective(nu + h) - objective(nu - h)) / (2 * h))
    assert np.isfinite(grad)
    # Central difference: truncation ~h^2, roundoff ~1e-16 / h; measured agreement 2e-9.
    assert grad == pytest.approx(finite_difference, rel=1e-6)


def test_repeated_and_uneven_times_are_hit_exactly():
    times = np.array([0.1, 0.1, 0.3, 0.35])
    u = burgers.solve(0.1, X, times, resolution=128)
    np.testing.assert_array_equal(u[0], u[1])
    # Smooth case: the error is ETDRK4's O(dt^4) with dt = 1/(64 pi); measured 2.3e-9
    # (2.9e-8 at half the resolution and twice the step: the expected 16x, give or take).
    np.testing.assert_allclose(u, burgers.cole_hopf(0.1, X, times), rtol=0, atol=1e-8)


def test_float32_warns():
    with pytest.warns(UserWarning, match="float32"):
        burgers.solve_jax(0.1, [0.0, 0.1], resolution=16)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"nu": -1.0}, "nu"),
        ({"nu": float("nan")}, "nu"),
        ({"x": [0.0, 1.5]}, "x"),
        ({"x": [[0.0]]}, "x"),
        ({"x": []}, "x"),
        ({"t": [0.5, 0.2]}, "t"),
        ({"t": [-0.1]}, "t"),
        ({"t": [np.inf]}, "t"),
        ({"resolution": 33}, "resolution"),
        ({"resolution": 4}, "resolution"),
    ],
)
def test_bad_input_names_the_argument(change, name):
    kwargs = {"nu": 0.1, "x": [0.0], "t": [0.5], "resolution": 64} | change
    with pytest.raises(ValueError, match=f"^{name}:"):
        burgers.solve(**kwargs)


@pytest.mark.parametrize(("nu", "resolution", "match"), [
    (1e-5, None, "resolution: the solution became non-finite at resolution=1024, nu=1e-05"),
    (NU, 64, r"resolution: the grid \(resolution=64\) does not resolve the solution at nu=0.00318"),
])
def test_unresolved_shocks_are_errors(nu, resolution, match):
    """Measured before this check: nu=1e-5 gave all-NaN, resolution=64 a max |u| of 1.29 (> 1: no maximum principle)."""
    with pytest.raises(ValueError, match=match):
        burgers.solve(nu, X, T, resolution=resolution)
