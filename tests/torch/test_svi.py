"""SVI for NumPyro and Pyro models (autoguides), Pyro NUTS: exact conjugate answers, persistence, errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pyro = pytest.importorskip("pyro")

import jax.numpy as jnp  # noqa: E402
import numpyro  # noqa: E402
import numpyro.distributions as ndist  # noqa: E402
import pyro.distributions as pdist  # noqa: E402

import uqlab  # noqa: E402

N, SIGMA, TAU = 30, 0.5, 1.0


def _design():
    rng = np.random.default_rng(0)
    x = np.hstack([np.ones((N, 1)), rng.normal(size=(N, 1))])
    return x, x @ np.array([0.5, -1.0]) + SIGMA * rng.normal(size=N)


def _exact():
    """Conjugate posterior of w ~ N(0, tau^2 I), y ~ N(X w, sigma^2 I)."""
    x, y = _design()
    cov = np.linalg.inv(x.T @ x / SIGMA**2 + np.eye(2) / TAU**2)
    return cov @ x.T @ y / SIGMA**2, np.sqrt(np.diag(cov))


def pyro_line(X, y=None):
    w = pyro.sample("w", pdist.Normal(torch.zeros(2), TAU).to_event(1))
    with pyro.plate("data", X.shape[0]):
        pyro.sample("y", pdist.Normal(X @ w, SIGMA), obs=y)


def numpyro_line(X, y=None):
    w = numpyro.sample("w", ndist.Normal(jnp.zeros(2), TAU).to_event(1))
    with numpyro.plate("data", X.shape[0]):
        numpyro.sample("y", ndist.Normal(X @ w, SIGMA), obs=y)


def _data(kind):
    x, y = _design()
    if kind == "pyro":
        return pyro_line, {"X": torch.tensor(x, dtype=torch.float32), "y": torch.tensor(y, dtype=torch.float32)}
    return numpyro_line, {"X": jnp.asarray(x), "y": jnp.asarray(y)}


@pytest.fixture(scope="module", params=["pyro", "numpyro"])
def fullrank(request):
    model, data = _data(request.param)
    return request.param, uqlab.fit(model, data, "svi", guide="mvn", num_steps=2000, learning_rate=0.02, progress=False)


def test_fullrank_svi_recovers_the_conjugate_posterior(fullrank):
    """Mean within 3 Monte Carlo standard errors of the draws, sd within 10 % (the full-rank
    Gaussian family contains the exact posterior)."""
    kind, post = fullrank
    assert type(post.method).__name__ == ("PyroSVI" if kind == "pyro" else "SVI")
    w = post.samples()["w"].reshape(-1, 2)
    mean, sd = _exact()
    se = w.std(axis=0) / np.sqrt(len(w))
    assert np.all(np.abs(w.mean(axis=0) - mean) < 3 * se), (w.mean(axis=0), mean, se)
    np.testing.assert_allclose(w.std(axis=0), sd, rtol=0.10)


def test_svi_posterior_predicts_saves_and_exports(fullrank, tmp_path):
    kind, post = fullrank
    model, data = _data(kind)
    x_new = data["X"][:3]
    pred = post.predictive("y", X=x_new, key=1)
    assert pred.loc.shape == (1000, 3, 1) and pred.scale is None
    np.testing.assert_allclose(pred.mean[:, 0], np.asarray(x_new) @ post.samples()["w"].reshape(-1, 2).mean(0),
                               atol=4 * SIGMA / np.sqrt(1000) + 0.02)
    back = uqlab.load(post.save(tmp_path / f"{kind}.nc"), model=model)
    np.testing.assert_array_equal(back.samples()["w"], post.samples()["w"])
    np.testing.assert_array_equal(back.predictive("y", X=x_new, key=1).loc, pred.loc)
    assert "w" in post.to_arviz().posterior
    with pytest.raises(TypeError, match="predict: .*predictive\\(site"):
        post.predict(np.zeros((2, 1)))


@pytest.mark.parametrize("guide", ["normal", "lowrank", "delta"])
def test_every_numpyro_guide_runs(guide):
    model, data = _data("numpyro")
    post = uqlab.fit(model, data, "svi", guide=guide, num_steps=50, num_draws=20, progress=False)
    w = post.samples()["w"]
    assert w.shape == (1, 20, 2) and np.all(np.isfinite(w))
    assert (np.ptp(w, axis=1) == 0).all() if guide == "delta" else (np.ptp(w, axis=1) > 0).all()


def test_pyro_nuts_matches_the_exact_posterior():
    model, data = _data("pyro")
    post = uqlab.fit(model, data, "nuts", num_warmup=60, num_samples=150, num_chains=2, progress=False)
    assert type(post.method).__name__ == "PyroNUTS" and post.samples()["w"].shape == (2, 150, 2)
    w = post.samples()["w"].reshape(-1, 2)
    mean, sd = _exact()
    se = sd / np.sqrt(post.info["ess_bulk_min"])
    assert np.all(np.abs(w.mean(axis=0) - mean) < 4 * se) and post.info["rhat_max"] < 1.1


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="guide: expected one of"):
        uqlab.fit(*_data("numpyro"), "svi", guide="flow")

    def pyro_prior_only(X):
        pyro.sample("w", pdist.Normal(0.0, 1.0))

    def numpyro_prior_only(X):
        numpyro.sample("w", ndist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="model: pyro_prior_only has no observed site"):
        uqlab.fit(pyro_prior_only, {"X": torch.zeros(3)}, "svi", num_steps=1)
    with pytest.raises(ValueError, match="model: numpyro_prior_only has no observed site"):
        uqlab.fit(numpyro_prior_only, {"X": jnp.zeros(3)}, "svi", num_steps=1)
    with pytest.raises(TypeError, match="data: svi takes the model's keyword arguments as a dict"):
        from uqlab.inference.svi import SVI

        SVI(num_steps=1).fit(numpyro_line, [1, 2])
