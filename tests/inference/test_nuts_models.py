"""NUTS and HMC on NumPyro models and plain log densities, checked against exact posteriors."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab


def normal_mean_model(y=None, sigma=1.0, prior_scale=10.0):
    """``mu ~ N(0, prior_scale^2)``, ``y_n ~ N(mu, sigma^2)``: conjugate, exact posterior known."""
    import numpyro
    import numpyro.distributions as dist

    mu = numpyro.sample("mu", dist.Normal(0.0, prior_scale))
    numpyro.sample("noise", dist.HalfNormal(1.0))  # a constrained site, unused by the likelihood
    numpyro.sample("y", dist.Normal(mu, sigma), obs=y)


def _exact(y, sigma=1.0, prior_scale=10.0):
    precision = 1 / prior_scale**2 + len(y) / sigma**2
    return y.sum() / sigma**2 / precision, precision**-0.5


def _assert_mean_within_mc_error(draws, exact_mean, exact_sd):
    import arviz as az

    ess = float(az.ess(np.asarray(draws)))
    error = abs(float(np.mean(draws)) - exact_mean)
    assert error < 4.5 * exact_sd / np.sqrt(ess), (error, exact_sd, ess)
    # sd of a sample sd is about sd / sqrt(2 ess)
    assert abs(np.std(draws) - exact_sd) < 4.5 * exact_sd / np.sqrt(2 * ess)


@pytest.fixture(scope="module")
def numpyro_fit():
    import jax.numpy as jnp

    y = np.random.default_rng(0).normal(1.5, 1.0, 20).astype(np.float32)
    post = uqlab.fit(normal_mean_model, {"y": jnp.asarray(y)}, "nuts", key=0, num_warmup=150, num_samples=150,
                     progress=False)
    return y, post


def test_numpyro_model_samples_in_constrained_space(numpyro_fit):
    y, post = numpyro_fit
    samples = post.samples()
    assert set(samples) == {"mu", "noise"}
    assert samples["mu"].shape == (4, 150) and samples["noise"].shape == (4, 150)
    assert np.all(samples["noise"] > 0)
    _assert_mean_within_mc_error(samples["mu"], *_exact(y))
    assert post.quantity("mu").num_members == 600


def test_numpyro_model_arviz_and_save(numpyro_fit, tmp_path):
    import arviz as az

    _, post = numpyro_fit
    summary = az.summary(post.to_arviz())
    assert {"mu", "noise"} <= set(summary.index)
    path = post.save(tmp_path / "np.nc")
    with pytest.raises(ValueError, match=r"normal_mean_model cannot be restored.*model="):
        uqlab.load(path)
    back = uqlab.load(path, model=post.model)
    np.testing.assert_array_equal(back.samples()["mu"], post.samples()["mu"])


def test_numpyro_model_has_no_predict(numpyro_fit):
    with pytest.raises(TypeError, match="predict: the model"):
        numpyro_fit[1].predict(np.zeros((2, 1)))


def test_hmc_on_a_log_density():
    import jax.numpy as jnp

    from uqlab.inference.targets import LogDensity

    scales = jnp.array([1.0, 3.0])
    target = LogDensity(lambda p: -0.5 * jnp.sum((p["z"] / scales) ** 2), {"z": jnp.zeros(2)})
    post = uqlab.fit(target, None, "hmc", key=0, num_warmup=150, num_samples=150, num_integration_steps=8,
                     progress=False)
    z = post.samples()["z"]
    assert z.shape == (4, 150, 2)
    # static HMC: every transition, warmup included, integrates exactly 8 leapfrog steps
    assert post.info["warmup_gradient_evals"] == 4 * 150 * 8
    assert post.info["num_gradient_evals"] == 4 * 150 * 8
    for i, scale in enumerate([1.0, 3.0]):
        _assert_mean_within_mc_error(z[..., i], 0.0, scale)


def test_bad_data_for_model_kinds():
    from uqlab.inference.targets import LogDensity

    with pytest.raises(TypeError, match="data: .*dict of the model's keyword arguments"):
        uqlab.fit(normal_mean_model, np.ones(3), "nuts")
    with pytest.raises(TypeError, match="data: a LogDensity"):
        uqlab.fit(LogDensity(lambda p: -p**2, 0.0), {"y": 1}, "hmc")
    with pytest.raises(ValueError, match="num_integration_steps"):
        uqlab.fit(LogDensity(lambda p: -p**2, 0.0), None, "hmc", num_integration_steps=0)
