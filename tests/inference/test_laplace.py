"""Laplace: exact on Bayesian linear regression; marginal-likelihood tuning of the prior precision."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.exact import linear_regression_problem
from uqlab.inference.laplace import PRIOR_GRID, Laplace

MAP = dict(subset="all", num_steps=1500, learning_rate=2e-2, progress=False)


@pytest.fixture(scope="module")
def problem():
    return linear_regression_problem(num_points=40, correlation=0.6, prior_precision=2.0)


@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_laplace_on_linear_regression_is_exact(problem, hessian):
    model, data = problem
    mean, cov = model.exact_posterior(data)
    post = uqlab.fit(model, data, Laplace(hessian=hessian, prior_precision=model.prior_precision, **MAP), key=0)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(post.mean, mean, atol=1e-2 * sd.min())
    x_new = np.array([[1.0, -1.0], [0.3, 2.0]])
    pred = post.predict(x_new)
    np.testing.assert_allclose(pred.mean[:, 0], x_new @ mean, atol=1e-2 * sd.min())
    if hessian == "full":  # the Gauss-Newton matrix of a linear-Gaussian model is its Hessian
        np.testing.assert_allclose(post.covariance, cov, rtol=1e-4, atol=1e-7)
        exact_var = np.einsum("np,pq,nq->n", x_new, cov, x_new) + model.noise_scale**2
        np.testing.assert_allclose(pred.var[:, 0], exact_var, rtol=1e-4)
    else:  # the diagonal keeps the curvature of each coordinate: 1 / A_ii
        np.testing.assert_allclose(post.covariance, 1 / np.diag(np.linalg.inv(cov)), rtol=1e-4)


def test_marginal_likelihood_picks_the_evidence_maximiser(problem):
    model, data = problem
    post = uqlab.fit(model, data, Laplace(**MAP), key=0)
    # Closed-form evidence of Bayesian linear regression (Bishop, 2006, eq. 3.86) on the same grid.
    x, y = data.x, data.y[:, 0]
    beta, (n, d) = model.noise_scale**-2, x.shape

    def evidence(alpha):
        a = alpha * np.eye(d) + beta * x.T @ x
        m = beta * np.linalg.solve(a, x.T @ y)
        e = beta / 2 * np.sum((y - x @ m) ** 2) + alpha / 2 * m @ m
        return d / 2 * np.log(alpha) + n / 2 * np.log(beta) - e - np.linalg.slogdet(a)[1] / 2 - n / 2 * np.log(2 * np.pi)

    best = PRIOR_GRID[np.argmax([evidence(a) for a in PRIOR_GRID])]
    chosen = post.info["prior_precision"]
    # Post hoc (at the MAP of the model's own prior) vs re-solved per alpha: same optimum within 2x.
    assert best / 2 <= chosen <= best * 2, (chosen, best)
    assert post.info["log_marginal_likelihood"] == pytest.approx(evidence(chosen), abs=0.5)


@pytest.mark.parametrize(
    "settings, match",
    [({"subset": "first"}, "subset"), ({"hessian": "kron2"}, "hessian"), ({"prior_precision": 0.0}, "prior_precision")],
)
def test_bad_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        Laplace(**settings)


def test_last_layer_needs_features(problem):
    model, data = problem
    with pytest.raises(TypeError, match="features"):
        uqlab.fit(model, data, Laplace(subset="last_layer", progress=False), key=0)
