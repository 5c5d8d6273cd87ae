"""NumPyro-model posteriors: a posterior predictive by site (NumPyro's Predictive) instead of predict(x)."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab


def line_model(x, y=None):
    """``y_n ~ N(w x_n, sigma^2)``, ``w ~ N(0, 10^2)``, ``sigma ~ HalfNormal(1)``."""
    import numpyro
    import numpyro.distributions as dist

    w = numpyro.sample("w", dist.Normal(0.0, 10.0))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    numpyro.deterministic("slope_squared", w**2)
    with numpyro.plate("data", x.shape[0]):
        numpyro.sample("y", dist.Normal(w * x, sigma), obs=y)


@pytest.fixture(scope="module")
def line_fit():
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 30).astype(np.float32)
    y = (2.0 * x + 0.3 * rng.standard_normal(30)).astype(np.float32)
    post = uqlab.fit(line_model, {"x": jnp.asarray(x), "y": jnp.asarray(y)}, "hmc", key=0, num_warmup=200,
                     num_samples=200, num_chains=2, num_integration_steps=8, progress=False)
    return post


def test_predictive_of_an_observed_site(line_fit):
    import jax.numpy as jnp

    x_new = np.array([-2.0, 0.0, 3.0], np.float32)
    pred = line_fit.predictive("y", x=jnp.asarray(x_new), y=None, key=1)
    samples = line_fit.samples()
    num_draws = samples["w"].size
    assert isinstance(pred, uqlab.Predictive) and pred.scale is None
    assert pred.loc.shape == (num_draws, 3, 1)
    # y_s = w_s x + sigma_s eps_s with fresh eps_s: the mean over draws differs from mean_s(w_s x) by
    # mean_s(sigma_s eps_s), whose standard deviation is sqrt(E[sigma^2] / S).
    expected = samples["w"].mean() * x_new
    tolerance = 4 * np.sqrt(np.mean(samples["sigma"] ** 2) / num_draws)
    np.testing.assert_allclose(pred.mean[:, 0], expected, atol=tolerance)
    np.testing.assert_array_equal(pred.loc, line_fit.predictive("y", x=jnp.asarray(x_new), key=1).loc)
    assert not np.allclose(pred.loc, line_fit.predictive("y", x=jnp.asarray(x_new), key=2).loc)
    assert line_fit.predictive("y", x=jnp.asarray(x_new), num_samples=10).num_members == 10


def test_predictive_of_latent_and_deterministic_sites(line_fit):
    import jax.numpy as jnp

    x = jnp.zeros(2)
    w = line_fit.predictive("w", x=x)
    np.testing.assert_allclose(w.loc[:, 0, 0], line_fit.samples()["w"].reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(line_fit.predictive("slope_squared", x=x).loc[:, 0, 0], w.loc[:, 0, 0] ** 2, rtol=1e-5)


def test_predict_and_bad_site_say_what_to_do(line_fit):
    import jax.numpy as jnp

    with pytest.raises(TypeError, match=r"predict: the model \(line_model\).*predictive\(site"):
        line_fit.predict(np.zeros((2, 1)))
    with pytest.raises(KeyError, match="site: expected one of"):
        line_fit.predictive("z", x=jnp.zeros(2))
    with pytest.raises(ValueError, match="num_samples"):
        line_fit.predictive("y", x=jnp.zeros(2), num_samples=0)


def test_saved_numpyro_posterior_keeps_its_predictive(line_fit, tmp_path):
    import jax.numpy as jnp

    back = uqlab.load(line_fit.save(tmp_path / "line.nc"), model=line_fit.model)
    x = jnp.asarray([0.5, 1.0])
    np.testing.assert_array_equal(back.predictive("y", x=x).loc, line_fit.predictive("y", x=x).loc)
