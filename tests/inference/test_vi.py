"""Gaussian VI: full-rank recovers the exact Gaussian posterior; mean-field gives 1 / diag(precision)."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.exact import linear_regression_problem
from uqlab.inference.vi import FullRankVI, MeanFieldVI

SETTINGS = dict(num_steps=1500, learning_rate=2e-2, num_elbo_samples=4, num_draws=50, progress=False)


def test_fullrank_recovers_linear_regression_posterior():
    model, data = linear_regression_problem(num_points=50, correlation=0.8)
    mean, cov = model.exact_posterior(data)
    post = uqlab.fit(model, data, FullRankVI(**SETTINGS), key=0)
    sd = np.sqrt(np.diag(cov))
    # With a Gaussian target the sticking-the-landing gradient vanishes at the optimum, so the
    # optimiser's noise floor is tiny: 5 % of a posterior sd / of the covariance scale.
    np.testing.assert_allclose(post.info["q_mean"], mean, atol=0.05 * sd.min())
    np.testing.assert_allclose(post.info["q_cov"], cov, atol=0.05 * np.outer(sd, sd).max())
    assert post.num_members == 50
    assert np.isfinite(post.info["final_elbo"]) and post.info["elbo"].shape == (1500,)


def test_meanfield_underestimates_variance_by_the_known_amount():
    model, data = linear_regression_problem(num_points=50, correlation=0.9)
    mean, cov = model.exact_posterior(data)
    precision = np.linalg.inv(cov)
    # Mean-field STL gradients stay noisy at the optimum: a smaller step and more draws.
    settings = {**SETTINGS, "num_steps": 3000, "learning_rate": 5e-3, "num_elbo_samples": 16}
    post = uqlab.fit(model, data, MeanFieldVI(**settings), key=0)
    np.testing.assert_allclose(post.info["q_mean"], mean, atol=0.05 * np.sqrt(np.diag(cov)).min())
    # The KL(q || p)-optimal factorised Gaussian has variances 1 / Lambda_ii (Bishop, 2006, 10.1.2),
    # here several times smaller than the true marginal variances.
    np.testing.assert_allclose(post.info["q_var"], 1 / np.diag(precision), rtol=0.1)
    assert np.all(post.info["q_var"] < 0.5 * np.diag(cov))


@pytest.mark.parametrize(
    "settings, match",
    [({"batch_size": 0}, "batch_size"), ({"learning_rate": 0.0}, "learning_rate"), ({"num_draws": 0}, "num_draws")],
)
def test_bad_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        MeanFieldVI(**settings)


def test_batch_larger_than_data():
    model, data = linear_regression_problem(num_points=20)
    with pytest.raises(ValueError, match=r"batch_size: expected at most .*20.*, got 21"):
        uqlab.fit(model, data, FullRankVI(batch_size=21, progress=False), key=0)
