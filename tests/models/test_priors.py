"""BNN priors: per-layer scales, the hierarchical inverse-gamma prior, and prior predictives."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import stats

from uqlab.models import BayesianMLP
from uqlab.models.bnn import log_inverse_gamma_of_log_scale
from uqlab.models.priors import prior_predictive


def test_per_layer_scales():
    model = BayesianMLP(d_in=2, widths=(8, 4), prior_scale=(1.0, 2.0, 3.0))
    scales = model.weight_prior_scales()
    np.testing.assert_allclose([w for w, _ in scales], [1 / math.sqrt(2), 2 / math.sqrt(8), 3 / math.sqrt(4)])
    np.testing.assert_allclose([b for _, b in scales], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="one per layer"):
        BayesianMLP(widths=(8,), prior_scale=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"prior_scale\[1\]"):
        BayesianMLP(widths=(8,), prior_scale=(1.0, 0.0))


def test_inverse_gamma_change_of_variables():
    """``u = log tau`` with ``tau^2 ~ IG(a, b)``: the density integrates to 1 and matches scipy."""
    u = np.linspace(-6, 6, 4001)
    log_p = np.asarray(log_inverse_gamma_of_log_scale(jax.numpy.asarray(u), 3.0, 2.0))
    assert abs(np.trapezoid(np.exp(log_p), u) - 1) < 1e-4
    v = np.exp(2 * u[2000:2010])
    np.testing.assert_allclose(log_p[2000:2010], stats.invgamma.logpdf(v, 3.0, scale=2.0) + np.log(2 * v), rtol=1e-4)


def test_hierarchical_prior_learns_scales_and_samples():
    model = BayesianMLP(widths=(16,), prior="hierarchical")
    params = model.init(jax.random.PRNGKey(0))
    assert params["prior"]["log_tau"].shape == (2,)
    bigger = {**params, "prior": {"log_tau": params["prior"]["log_tau"] + 1.0}}
    assert model.log_prior(params) != model.log_prior(bigger)
    grad = jax.grad(model.log_prior)(params)
    assert np.all(np.isfinite(grad["prior"]["log_tau"]))
    draws = jax.vmap(model.sample_prior)(jax.random.split(jax.random.PRNGKey(1), 4000))
    tau_sq = np.exp(2 * np.asarray(draws["prior"]["log_tau"]))
    # IG(3, 2): mean 1, standard deviation 1; the sample mean is within 5 Monte Carlo errors.
    assert abs(tau_sq.mean() - 1.0) < 5 * 1.0 / math.sqrt(tau_sq.size)


def test_prior_predictive_matches_weight_prior():
    """A 1-hidden-layer net's output bias and weights give Var f(x) >= s_b^2 at every x."""
    model = BayesianMLP(widths=(32,), prior_scale=(1.0, 0.5), likelihood=__import__("uqlab").models.Gaussian(0.1))
    x = np.linspace(-2, 2, 5)
    pred = prior_predictive(model, x, num_draws=2000, key=0)
    assert pred.num_members == 2000 and pred.shape == (5, 1)
    # f = b2 + sum_j w_j tanh(.) with Var b2 = 0.25; sampling error of a variance: sqrt(2 / S).
    var_f = pred.epistemic_var[:, 0]
    assert np.all(var_f > 0.25 * (1 - 5 * math.sqrt(2 / 2000)))
    assert np.all(np.abs(pred.mean[:, 0]) < 5 * np.sqrt(var_f / 2000) + 1e-6)
    wide = prior_predictive(model.replace(prior_scale=(1.0, 2.0)), x, num_draws=2000, key=0)
    assert np.all(wide.epistemic_var > 4 * pred.epistemic_var * 0.9)
