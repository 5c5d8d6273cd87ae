"""SGLD / SGHMC: recover the conjugate linear-regression posterior; bias shrinks with the step size."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.exact import linear_regression_problem, mc_tolerance, var_tolerance
from uqlab.diagnostics.sampler import chain_diagnostics
from uqlab.inference.sgmcmc import SGHMC, SGLD, step_size_schedule

# One shape for every run below (only the step size differs), so the scan compiles once.
RUN = dict(batch_size=50, num_samples=500, num_burnin=300, thinning=4, num_chains=4, progress=False)


@pytest.fixture(scope="module")
def problem():
    model, data = linear_regression_problem(num_points=100)
    return model, data, *model.exact_posterior(data)


def _draws(method, problem):
    model, data, _, _ = problem
    draws = uqlab.fit(model, data, method, key=0).draws()["w"]
    return draws.reshape(-1, 2), chain_diagnostics(draws)["ess_bulk"]


@pytest.fixture(scope="module")
def sgld_runs(problem):
    return {eps: _draws(SGLD(step_size=eps, **RUN), problem) for eps in (1e-3, 1e-4)}


def _check_recovers(w, ess, mean, cov, var_bias):
    """Mean within 4 MC standard errors; variance within 4 MC errors plus the allowed bias."""
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(w.mean(0) - mean) < mc_tolerance(sd, ess)), (w.mean(0), mean, ess)
    ratio = w.var(0) / np.diag(cov)
    assert np.all(np.abs(ratio - 1) < var_bias + var_tolerance(1.0, ess)), ratio


def test_sgld_recovers_linear_regression(sgld_runs, problem):
    # Euler SGLD on a Gaussian with precision lambda has stationary variance
    # 1 / (lambda (1 - eps lambda / 2)); at eps = 1e-4, lambda ~ 400 that is +2 %, and the
    # minibatch gradient noise adds a few % more: allow 10 %.
    w, ess = sgld_runs[1e-4]
    _check_recovers(w, ess, *problem[2:], var_bias=0.10)


def test_sgld_bias_shrinks_with_step_size(sgld_runs, problem):
    exact_var = np.diag(problem[3])
    errors = {eps: np.abs(w.var(0) / exact_var - 1).max() for eps, (w, _) in sgld_runs.items()}
    assert errors[1e-4] < 0.5 * errors[1e-3], errors


def test_sghmc_recovers_linear_regression(problem):
    w, ess = _draws(SGHMC(step_size=2e-3, friction=20.0, num_integration_steps=10, **RUN), problem)
    _check_recovers(w, ess, *problem[2:], var_bias=0.15)


def test_cyclical_schedule_keeps_draws_in_low_step_part():
    sizes, keep = step_size_schedule(
        1.0, schedule="cyclical", num_samples=6, num_burnin=0, thinning=1, num_cycles=2, exploration_fraction=0.5
    )
    assert keep.sum() == 6 and sizes.shape == keep.shape
    assert sizes[keep].max() <= 0.5 + 1e-12 < sizes[~keep].max()
    assert sizes[0] == 1.0 and sizes.shape[0] == 12


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -3}, "batch_size"),
        ({"step_size": 0.0}, "step_size"),
        ({"step_size": -1e-3}, "step_size"),
        ({"schedule": "cyclical", "num_cycles": 0}, "num_cycles"),
        ({"schedule": "sometimes"}, "schedule"),
    ],
)
def test_bad_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        SGLD(**settings)


def test_batch_larger_than_data(problem):
    model, data, _, _ = problem
    with pytest.raises(ValueError, match=r"batch_size: expected at most .*100.*, got 101"):
        uqlab.fit(model, data, SGHMC(batch_size=101, progress=False), key=0)
