"""Accuracy and speed of the reference PDE solvers (uqlab.problems.burgers / navier_stokes).

Burgers (nu = 0.01/pi, T = 1, 256 x 100 output grid): relative L2 error of each resolution
against a run at 4x the default resolution and against the Cole-Hopf solution, with wall times
of a first call (compilation included) and a second call. Navier-Stokes (n = 64): Taylor-Green
decay error; self-convergence of a decaying random flow on grids n = 32, 64, 128 against
n = 256 and in the time step (halved); and the wall time of the default Kolmogorov case.

Usage::

    python benchmarks/solver_accuracy.py

prints a table and writes ``benchmarks/results/solver_accuracy.json`` (atomically).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from _common import first_and_warm, load_average, print_table, save, timed

from uqlab.problems import burgers, navier_stokes, spectral


def relative_l2(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def burgers_rows() -> list[dict]:
    nu, x, t = burgers.NU_CLASSIC, np.linspace(-1, 1, 256), np.linspace(0, 1, 100)
    exact, _, exact_seconds = first_and_warm(burgers.cole_hopf, nu, x, t)
    finest = 4 * burgers.DEFAULT_RESOLUTION
    reference, _, reference_seconds = first_and_warm(burgers.solve, nu, x, t, resolution=finest)
    rows = [{"case": "burgers", "method": "cole_hopf (200 Gauss-Hermite nodes)",
             "error_vs_4x_finer": relative_l2(exact, reference), "seconds_warm": exact_seconds}]
    for resolution in (256, 512, burgers.DEFAULT_RESOLUTION):
        u, first, warm = first_and_warm(burgers.solve, nu, x, t, resolution=resolution)
        rows.append({"case": "burgers", "method": f"solve, resolution={resolution}",
                     "error_vs_4x_finer": relative_l2(u, reference),
                     "error_vs_cole_hopf": relative_l2(u, exact),
                     "seconds_first_call": first, "seconds_warm": warm})
    rows.append({"case": "burgers", "method": f"solve, resolution={finest} (reference)",
                 "error_vs_cole_hopf": relative_l2(reference, exact),
                 "seconds_warm": reference_seconds})
    return rows + [burgers_gradient_row(nu, t)]


def burgers_gradient_row(nu: float, t: np.ndarray) -> dict:
    """Cost of ``d/dnu sum(u^2)`` by reverse mode through the default-resolution solver."""
    with jax.enable_x64(True):
        value_and_grad = jax.value_and_grad(lambda nu: jnp.sum(burgers.solve_jax(nu, t) ** 2))
        (_, gradient), first, warm = first_and_warm(value_and_grad, nu)
    return {"case": "burgers", "method": "value_and_grad wrt nu, default resolution",
            "gradient": float(gradient), "seconds_first_call": first, "seconds_warm": warm}


def _upsample(w: np.ndarray, n: int) -> np.ndarray:
    """Spectral interpolation of a band-limited periodic field onto an ``n x n`` grid."""
    m = w.shape[-1]
    padded = np.zeros((n, n), dtype=complex)
    shifted = np.fft.fftshift(np.fft.fft2(w))
    start = (n - m) // 2
    padded[start:start + m, start:start + m] = shifted
    return np.fft.ifft2(np.fft.ifftshift(padded)).real * (n / m) ** 2


def decaying_rows(times: np.ndarray, nu: float = 0.01) -> list[dict]:
    """Self-convergence of decaying flow from one band-limited random field (resolved at n=32)."""
    finest, w0 = 256, spectral.random_vorticity(32, seed=0)

    def run(n, **kwargs):
        return navier_stokes.solve(nu, t=times, n=n, forcing="none", w0=_upsample(w0, n),
                                   **kwargs)[1]

    reference, seconds, _ = timed(run, finest)
    reference_row = {"case": "navier_stokes", "method": f"decaying GRF, nu={nu}, n={finest}",
                     "seconds_first_call": seconds}
    rows = []
    for n in (32, 64, 128):
        w, first, warm = first_and_warm(run, n)
        coarse = reference[:, :: finest // n, :: finest // n]
        rows.append({"case": "navier_stokes", "method": f"decaying GRF, nu={nu}, n={n}, T=5",
                     "error_vs_finer_grid": relative_l2(w, coarse),
                     "seconds_first_call": first, "seconds_warm": warm})
    dt = navier_stokes.cfl_time_step(_upsample(w0, 64), nu)
    rows[1]["error_vs_half_dt"] = relative_l2(run(64), run(64, dt=dt / 2))
    return rows + [reference_row]


def navier_stokes_rows() -> list[dict]:
    n, times = 64, np.linspace(0.0, 5.0, 11)
    rows = []
    for k, nu in ((1, 0.01), (4, 0.01)):
        w0 = navier_stokes.taylor_green(nu, n, [0.0], k=k)[0]
        (_, w), first, warm = first_and_warm(navier_stokes.solve, nu, t=times, n=n, forcing="none", w0=w0)
        exact = navier_stokes.taylor_green(nu, n, times, k=k)
        rows.append({"case": "navier_stokes", "method": f"taylor-green k={k}, nu={nu}, n={n}",
                     "error_vs_exact": relative_l2(w, exact),
                     "seconds_first_call": first, "seconds_warm": warm})
    rows += decaying_rows(times)
    (_, w), first, warm = first_and_warm(navier_stokes.solve, 0.01, t=np.linspace(0.0, 10.0, 11), n=n)
    rows.append({"case": "navier_stokes", "method": f"kolmogorov (defaults), nu=0.01, n={n}, T=10",
                 "max_abs_vorticity": float(np.abs(w).max()),
                 "seconds_first_call": first, "seconds_warm": warm})
    return rows


COLUMNS = ["method", "error_vs_4x_finer", "error_vs_cole_hopf", "error_vs_exact", "error_vs_half_dt",
           "error_vs_finer_grid", "seconds_first_call", "seconds_warm"]


def main() -> None:
    load_before = load_average()
    rows = burgers_rows() + navier_stokes_rows()
    print_table(rows, [c for c in COLUMNS if any(c in row for row in rows)])
    save("solver_accuracy", {"machine": {"backend": jax.default_backend()}, "rows": rows}, load_before=load_before)


if __name__ == "__main__":
    main()
