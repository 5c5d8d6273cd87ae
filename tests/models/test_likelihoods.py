"""Each likelihood's log-density against scipy.stats, and the Student-t predictive moments."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from uqlab.models import BayesianMLP
from uqlab.models.likelihoods import Gaussian, Heteroscedastic, StudentT

RNG = np.random.default_rng(0)
Y = RNG.standard_normal((6, 2))
F = RNG.standard_normal((6, 2))


def test_gaussian_fixed_and_learned():
    np.testing.assert_allclose(Gaussian(0.3).log_prob(Y, F, {}), stats.norm.logpdf(Y, F, 0.3), rtol=1e-5, atol=1e-5)
    lik = Gaussian()
    params = {"log_noise": jnp.log(jnp.array([0.5, 2.0]))}
    np.testing.assert_allclose(lik.log_prob(Y, F, params), stats.norm.logpdf(Y, F, [0.5, 2.0]), rtol=1e-5, atol=1e-5)


def test_heteroscedastic():
    raw = RNG.standard_normal((6, 2))
    lik = Heteroscedastic(min_scale=1e-3)
    scale = 1e-3 + np.log1p(np.exp(raw))
    out = lik.log_prob(Y, np.concatenate([F, raw], -1), {})
    np.testing.assert_allclose(out, stats.norm.logpdf(Y, F, scale), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("df", [2.5, 4.0, 30.0])
def test_student_t_fixed(df):
    lik = StudentT(scale=0.7, df=df)
    np.testing.assert_allclose(lik.log_prob(Y, F, {}), stats.t.logpdf(Y, df, F, 0.7), rtol=1e-5, atol=1e-5)
    loc, scale = lik.loc_scale(F, {})
    np.testing.assert_allclose(scale**2, stats.t.var(df, F, 0.7), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loc, F)


def test_student_t_learned():
    lik = StudentT(scale=None, df=None)
    params = lik.init(2)
    assert set(params) == {"log_scale", "log_df_minus_2"}
    df, scale = 2 + np.exp(1.0), np.exp(-1.0)
    np.testing.assert_allclose(lik.log_prob(Y, F, params), stats.t.logpdf(Y, df, F, scale), rtol=1e-5, atol=1e-5)
    assert np.isfinite(lik.log_prior(params))


def test_bnn_uses_student_t_density():
    model = BayesianMLP(d_in=2, d_out=2, widths=(4,), likelihood=StudentT(scale=0.5, df=3.0))
    params = model.init(__import__("jax").random.PRNGKey(0))
    x = RNG.standard_normal((6, 2))
    f = np.asarray(model.raw_outputs(params, jnp.asarray(x, jnp.float32)))
    expected = stats.t.logpdf(Y, 3.0, f, 0.5).sum(-1)
    np.testing.assert_allclose(model.log_likelihood(params, {"x": x, "y": Y}), expected, rtol=1e-4)


@pytest.mark.parametrize(
    "build, match", [(lambda: StudentT(df=2.0), "df"), (lambda: StudentT(scale=-1.0), "scale"),
                     (lambda: Gaussian(noise_scale=0.0), "noise_scale")],
)
def test_bad_settings(build, match):
    with pytest.raises(ValueError, match=match):
        build()
