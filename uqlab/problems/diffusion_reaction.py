"""1-D nonlinear diffusion-reaction inverse problem (the B-PINN benchmark of Yang et al. 2021, §4.2)::

    D u''(x) + k tanh(u(x)) = f(x),   x in [-0.7, 0.7],   D = 0.01,

with the manufactured solution ``u = sin^3(6x)`` (so ``f`` follows) and the unknown ``k = 0.7``.
Data: noisy measurements of ``u`` at a few points, the two boundary points among them, and of
``f`` at a few dozen points, both with Gaussian noise of standard deviation 0.1. The PINN takes
the ``f`` measurements as the source at its collocation points (``R = D u'' + k tanh(u) - f``,
``residual_scale`` = their noise), so the residual term *is* their likelihood, as in B-PINNs.

``u'' = 216 sin(6x) cos^2(6x) - 108 sin^3(6x)``.

The network's weights have B-PINN's isotropic ``N(0, 1)`` prior: ``u''`` reaches ~100 here, which
the default fan-in prior (``N(0, 1/fan_in)``) shrinks and biases ``k`` (measurements in
``docs/measurements.md``).

Reference:
    Yang, Meng, Karniadakis (2021). B-PINNs: Bayesian physics-informed neural networks for
    forward and inverse PDE problems with noisy data. J. Comput. Phys. 425, 109913.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_positive, check_positive_int

__all__ = ["DOMAIN", "DIFFUSIVITY", "exact_u", "source", "residual", "OBSERVATION_KEYS", "inverse"]

DOMAIN = (-0.7, 0.7)
DIFFUSIVITY = 0.01
OBSERVATION_KEYS = {"x_u": 1, "u": 1, "x_f": 1, "f": 1}
"""The keys of ``observations`` and their columns: ``u`` measured at ``x_u``, ``f`` at ``x_f``, each ``(n, 1)``."""

_SIZES = {"quick": (6, 24, (16, 16)), "default": (8, 32, (32, 32)), "full": (12, 64, (50, 50))}
"""mode -> (u measurements, f measurements, hidden widths)."""

_NUTS = {
    "quick": {"num_warmup": 100, "num_samples": 100, "num_chains": 2, "max_tree_depth": 6},
    "default": {"num_warmup": 500, "num_samples": 500, "num_chains": 4, "max_tree_depth": 7},
    "full": {"num_warmup": 2000, "num_samples": 2000, "num_chains": 4, "max_tree_depth": 8},
}
"""NUTS per mode: the problem is small (a few dozen points in 1-D), so chains are long."""

_ADAM_STEPS = {"quick": (1000, 2000), "default": (3000, 6000), "full": (10000, 20000)}


def exact_u(x):
    """``u(x) = sin^3(6x)``."""
    return np.sin(6 * x) ** 3


def source(x, k: float = 0.7):
    """``f(x) = D u'' + k tanh(u)`` of the manufactured solution."""
    s, c = np.sin(6 * x), np.cos(6 * x)
    return DIFFUSIVITY * (216 * s * c**2 - 108 * s**3) + k * np.tanh(exact_u(x))


def residual(u, x, coefficients):
    """``D u'' + k tanh(u)`` at the points ``x`` (the model subtracts the measured ``f``)."""
    import jax.numpy as jnp

    from uqlab.models.equations import second_derivative

    _, u_xx = second_derivative(u, x, 0)
    return coefficients["D"] * u_xx + coefficients["k"] * jnp.tanh(u(x))


def inverse(*, seed: int = 0, quick: bool = False, full: bool = False, observations: dict | None = None,
            num_u: int | None = None, num_f: int | None = None, noise: float = 0.1, k: float = 0.7,
            reference: bool = True, noise_seed: int | None = None):
    """Infer ``k`` (prior ``log k ~ N(0, 1)``) and ``u`` from noisy ``u`` and ``f`` measurements.

    Generated data: ``u`` at both boundary points and ``num_u - 2`` uniform interior points,
    ``f`` at ``num_f`` equispaced points, noise sd ``noise`` on both. The test set is 201
    equispaced points with the noise-free ``u``; ``quantities=("k",)`` is scored against ``k``.

    Args:
        seed: data seed (interior ``u`` points and the noise).
        quick, full: smaller or larger data, network and method settings.
        observations: the user's own measurements in place of the generated ones, a dict with
            the keys of :data:`OBSERVATION_KEYS`: ``x_u`` and ``u`` (``(n_u, 1)`` each), ``x_f``
            and ``f`` (``(n_f, 1)`` each), points in ``[-0.7, 0.7]``; ``noise`` is then their
            noise sd.
        num_u, num_f: generated measurements (None: 6/24 quick, 8/32 default, 12/64 full).
        noise: noise sd of the ``u`` and ``f`` measurements, > 0.
        k: the true reaction rate, > 0.
        reference: score against the manufactured solution (``u = sin^3(6x)``, ``k``). Pass
            False with measurements that do not come from it: ``k`` is then unknown (truth None)
            and the test set is the ``u`` measurements themselves.
        noise_seed: draw the measurement noise from its own generator with this seed (the points
            stay those of ``seed``): replicates of the same design for coverage studies.

    Raises:
        ValueError, TypeError: naming a bad argument or observation key.
    """
    from uqlab.data import Dataset
    from uqlab.problems import Problem, pde
    from uqlab.problems.observations import check_observations

    mode = pde.mode_of(quick, full)
    default_u, default_f, widths = _SIZES[mode]
    num_u, num_f = default_u if num_u is None else num_u, default_f if num_f is None else num_f
    check_positive_int("num_u", num_u, minimum=2)
    check_positive_int("num_f", num_f)
    check_positive("noise", noise)
    check_positive("k", k)
    if not isinstance(reference, bool):
        raise TypeError(f"reference: expected True or False, got {reference!r}")
    rng = np.random.default_rng(seed)
    if observations is None:
        x_u = np.r_[DOMAIN, np.sort(rng.uniform(*DOMAIN, num_u - 2))][:, None]
        x_f = np.linspace(*DOMAIN, num_f)[:, None]
        noise_rng = rng if noise_seed is None else np.random.default_rng([noise_seed, 0x0B5])
        u = exact_u(x_u) + noise * noise_rng.standard_normal(x_u.shape)
        f = source(x_f, k) + noise * noise_rng.standard_normal(x_f.shape)
    else:
        checked = check_observations(observations, OBSERVATION_KEYS, (("x_u", "u"), ("x_f", "f")),
                                     inputs={"x_u": DOMAIN, "x_f": DOMAIN})
        x_u, u, x_f, f = (checked[key] for key in OBSERVATION_KEYS)
    x_test = np.linspace(*DOMAIN, 201)[:, None]
    if reference:
        y_test, truth = exact_u(x_test), {"k": k, "f_test": exact_u(x_test)[:, 0], "test_grid_shape": (201,)}
    else:
        x_test, y_test, truth = x_u, u, {"k": None}
    truth["noise_scale"] = noise
    data = Dataset(x_u, u, x_test, y_test, name="diffusion-reaction-inverse", standardize=False,
                   extras={"collocation": x_f, "source": f})

    def make_model():
        from uqlab.models.equations import LogNormal
        from uqlab.models.likelihoods import Gaussian
        from uqlab.models.pinn import PINN

        return PINN(residual=residual, domain=(DOMAIN,), collocation=x_f, source=f, widths=widths, prior="isotropic",
                    coefficients={"D": DIFFUSIVITY, "k": LogNormal(0.0, 1.0)}, likelihood=Gaussian(noise_scale=noise),
                    residual_scale=noise)

    settings = pde.method_settings(mode, *_ADAM_STEPS[mode], lbfgs_steps=0 if quick else 1000)
    settings["nuts"].update(_NUTS[mode])
    return Problem(
        "diffusion-reaction-inverse", data, make_model, settings, truth,
        f"1-D diffusion-reaction (inverse: infer k), 0.01 u'' + k tanh(u) = f, {len(x_u)} u and {len(x_f)} f "
        f"measurements, noise sd {noise:g}", quantities=("k",), report_sections=pde.report_sections,
    )
