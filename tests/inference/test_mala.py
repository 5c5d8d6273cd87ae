"""MALA's step-size adaptation: dual averaging in burn-in reaches the target acceptance rate.

On a standard normal target in ``d`` dimensions the MALA proposal is
``theta' = (1 - eps) theta + sqrt(2 eps) xi``, and the stationary acceptance rate at a step size
``eps`` is ``E[min(1, r)]`` over ``theta, xi ~ N(0, I)`` with
``log r = |theta|^2 / 2 - |theta'|^2 / 2 - |theta - (1 - eps) theta'|^2 / (4 eps) + |xi|^2 / 2``;
it is computed here with numpy, independently of BlackJAX.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import uqlab
from uqlab.inference.mala import MALA
from uqlab.inference.targets import LogDensity

DIM = 10
RUN = dict(num_burnin=400, num_samples=500, num_chains=4, progress=False)


def stationary_acceptance(eps: float, num: int = 200_000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    theta, xi = rng.standard_normal((2, num, DIM))
    proposal = (1 - eps) * theta + np.sqrt(2 * eps) * xi
    log_r = (np.sum(theta**2, 1) - np.sum(proposal**2, 1)) / 2 + np.sum(xi**2, 1) / 2
    log_r -= np.sum((theta - (1 - eps) * proposal) ** 2, 1) / (4 * eps)
    return float(np.mean(np.minimum(1.0, np.exp(log_r))))


@pytest.fixture(scope="module")
def target():
    return LogDensity(lambda p: -0.5 * jnp.sum(p**2), jnp.zeros(DIM), init_jitter=1.0)


@pytest.fixture(scope="module")
def adapted(target):
    """Fits from a far too small and a far too large initial step size."""
    return {eps: uqlab.fit(target, None, MALA(step_size=eps, **RUN), key=0).info for eps in (1e-4, 3.0)}


def test_dual_averaging_reaches_the_target_acceptance_from_both_sides(adapted):
    # far from 0.574 before adaptation: ~1 at 1e-4, ~0 at 3.0
    assert stationary_acceptance(1e-4) > 0.99 and stationary_acceptance(3.0) < 0.01
    for info in adapted.values():
        # 2,000 correlated draws: MC error of the mean acceptance ~0.01-0.02; dual averaging's
        # averaged step size lands near, not at, the target
        assert abs(info["acceptance_rate"] - 0.574) < 0.08, info["acceptance_rate"]
    sizes = np.array([info["step_size"] for info in adapted.values()])  # (starts, chains)
    assert sizes.max() / sizes.min() < 1.6, sizes  # the same step size whichever side it came from


def test_reported_acceptance_matches_the_exact_rate_at_the_adapted_step_size(adapted):
    for info in adapted.values():
        exact = np.mean([stationary_acceptance(eps) for eps in info["step_size"]])
        assert abs(info["acceptance_rate"] - exact) < 0.05, (info["acceptance_rate"], exact)


def test_without_a_target_the_step_size_stays(target):
    info = uqlab.fit(target, None, MALA(step_size=0.3, target_acceptance=None, **RUN), key=0).info
    assert info["step_size"] == [pytest.approx(0.3)] * RUN["num_chains"]
    assert abs(info["acceptance_rate"] - stationary_acceptance(0.3)) < 0.05


def test_target_acceptance_is_checked():
    with pytest.raises(ValueError, match="target_acceptance"):
        MALA(target_acceptance=1.0)
