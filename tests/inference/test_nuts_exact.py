"""NUTS, HMC, MALA and MCLMC recover the exact posterior of a conjugate Bayesian linear regression.

The draws are whitened with the exact posterior, ``z = L^-1 (w - m)`` with ``S = L L^T``; then
``z ~ N(0, I)`` exactly when mean and covariance are right. Each of the mean, variance and
cross-moment of ``z`` is compared with its target within 4 Monte Carlo standard errors computed
from the bulk ESS of the draws (a wrong covariance shows as a non-unit variance or a non-zero
cross-moment of ``z``).
"""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.exact import linear_regression_problem, mc_tolerance, var_tolerance
from uqlab.diagnostics.sampler import chain_diagnostics
from uqlab.inference.hmc import HMC
from uqlab.inference.mala import MALA
from uqlab.inference.mclmc import MCLMC
from uqlab.inference.nuts import NUTS

SETTINGS = dict(num_warmup=300, num_samples=500, num_chains=4, progress=False)
METHODS = {
    "nuts": NUTS(max_tree_depth=5, **SETTINGS),
    "hmc": HMC(num_integration_steps=8, **SETTINGS),
    # posterior sds ~0.05-0.15: a Langevin step of sqrt(2 eps) ~ 0.045 accepts often and mixes in tens of steps
    "mala": MALA(step_size=1e-3, num_burnin=300, num_samples=1000, thinning=2, num_chains=4, progress=False),
    # unadjusted: its energy-error bias must stay inside the same Monte Carlo tolerances
    "mclmc": MCLMC(num_samples=500, thinning=5, num_chains=4, progress=False),
}


@pytest.fixture(scope="module")
def problem():
    model, data = linear_regression_problem(num_points=50, correlation=0.8)
    return model, data, *model.exact_posterior(data)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_recovers_conjugate_linear_regression(name, problem):
    model, data, mean, cov = problem
    draws = uqlab.fit(model, data, METHODS[name], key=0).draws()["w"]  # (chain, draw, 2)
    z = (draws - mean) @ np.linalg.inv(np.linalg.cholesky(cov)).T
    ess = chain_diagnostics(z)["ess_bulk"]
    flat = z.reshape(-1, 2)

    assert np.all(np.abs(flat.mean(0)) < mc_tolerance(1.0, ess)), (flat.mean(0), ess)
    assert np.all(np.abs(flat.var(0) - 1.0) < var_tolerance(1.0, ess)), (flat.var(0), ess)
    # E[z1 z2] = 0 with variance E[z1^2 z2^2] = 1 per effective draw.
    cross = np.mean(flat[:, 0] * flat[:, 1])
    assert abs(cross) < mc_tolerance(1.0, ess.min()), (cross, ess)
    assert ess.min() > 50, ess  # below that, ESS estimates (and so the tolerances) are unreliable
