"""Exact GP: closed-form algebra against numpy and scikit-learn, fitting, and bad input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process import kernels as sk

import uqlab
from uqlab.models import kernels as K
from uqlab.models.gp import GP

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, (15, 1))
Y = np.sin(2 * X) + 0.1 * RNG.standard_normal((15, 1))
XS = np.linspace(-3, 3, 9)[:, None]
NOISE = 0.2

PAIRS = {
    "rbf": (K.RBF(variance=1.3, lengthscale=0.7), sk.ConstantKernel(1.3) * sk.RBF(0.7)),
    "matern12": (K.Matern12(variance=1.3, lengthscale=0.7), sk.ConstantKernel(1.3) * sk.Matern(0.7, nu=0.5)),
    "matern32": (K.Matern32(variance=1.3, lengthscale=0.7), sk.ConstantKernel(1.3) * sk.Matern(0.7, nu=1.5)),
    "matern52": (K.Matern52(variance=1.3, lengthscale=0.7), sk.ConstantKernel(1.3) * sk.Matern(0.7, nu=2.5)),
    "rq": (K.RationalQuadratic(variance=1.3, lengthscale=0.7, alpha=2.0),
           sk.ConstantKernel(1.3) * sk.RationalQuadratic(0.7, alpha=2.0)),
    "periodic": (K.Periodic(variance=1.3, lengthscale=0.7, period=1.5),
                 sk.ConstantKernel(1.3) * sk.ExpSineSquared(0.7, periodicity=1.5)),
    "sum": (K.RBF(lengthscale=0.5) + K.Matern32(variance=0.5, lengthscale=2.0),
            sk.RBF(0.5) + sk.ConstantKernel(0.5) * sk.Matern(2.0, nu=1.5)),
    "product": (K.RBF(lengthscale=2.0) * K.Periodic(lengthscale=1.0, period=1.0),
                sk.RBF(2.0) * sk.ExpSineSquared(1.0, periodicity=1.0)),
}


def ours(kernel, x=X, y=Y, xs=XS):
    model = GP(kernel=kernel, noise_scale=NOISE, jitter=1e-10)
    with jax.enable_x64(True):
        params = model.init()
        args = [jnp.asarray(a, jnp.float64) for a in (x, y, xs)]
        lml = float(model.log_marginal_likelihood(params, *args[:2]))
        loc, scale = (np.asarray(a) for a in model.predict_y(params, *args))
    return lml, loc, scale


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kernels_match_scikit_learn(name):
    kernel, reference = PAIRS[name]
    gpr = GaussianProcessRegressor(reference + sk.WhiteKernel(NOISE**2), optimizer=None, alpha=1e-10).fit(X, Y)
    lml, loc, scale = ours(kernel)
    ref_loc, ref_std = gpr.predict(XS, return_std=True)
    np.testing.assert_allclose(lml, gpr.log_marginal_likelihood_value_, rtol=1e-8)
    np.testing.assert_allclose(loc[:, 0], np.ravel(ref_loc), atol=1e-8)
    np.testing.assert_allclose(scale[:, 0], ref_std, atol=1e-8)


def test_ard_matches_scikit_learn():
    x2 = RNG.uniform(-1, 1, (12, 2))
    y2 = np.cos(3 * x2[:, :1]) + 0.1 * x2[:, 1:]
    kernel = K.RBF(d_in=2, ard=True)
    with jax.enable_x64(True):
        params = {"kernel": {"log_variance": jnp.log(1.0), "log_lengthscale": jnp.log(jnp.array([0.4, 3.0]))},
                  "mean": jnp.zeros(0), "log_noise": jnp.log(NOISE)}
        model = GP(kernel=kernel, noise_scale=NOISE, jitter=1e-10)
        lml = float(model.log_marginal_likelihood(params, jnp.asarray(x2), jnp.asarray(y2)))
    gpr = GaussianProcessRegressor(sk.RBF([0.4, 3.0]) + sk.WhiteKernel(NOISE**2), optimizer=None, alpha=1e-10)
    np.testing.assert_allclose(lml, gpr.fit(x2, y2).log_marginal_likelihood_value_, rtol=1e-8)


def test_closed_form_two_points():
    """Two points, RBF: the 2x2 algebra written out by hand."""
    x, y, xs = np.array([[0.0], [1.0]]), np.array([[1.0], [-1.0]]), np.array([[0.5]])
    k01 = np.exp(-0.5)
    ky = np.array([[1 + NOISE**2, k01], [k01, 1 + NOISE**2]])
    lml_ref = -0.5 * y[:, 0] @ np.linalg.solve(ky, y[:, 0]) - 0.5 * np.log(np.linalg.det(ky)) - np.log(2 * np.pi)
    ks = np.exp(-0.5 * np.array([0.25, 0.25]))
    mean_ref = ks @ np.linalg.solve(ky, y[:, 0])
    var_ref = 1 - ks @ np.linalg.solve(ky, ks) + NOISE**2
    lml, loc, scale = ours(K.RBF(), x, y, xs)
    np.testing.assert_allclose(lml, lml_ref, rtol=1e-10)
    np.testing.assert_allclose(loc[0, 0], mean_ref, atol=1e-10)
    np.testing.assert_allclose(scale[0, 0] ** 2, var_ref, rtol=1e-8)


def test_fit_reaches_scikit_learn_optimum():
    data = uqlab.Dataset(X, Y)
    post = uqlab.fit(GP(kernel=K.Matern52()), data, "gp", key=0)
    x_std, y_std = data.standardized()
    reference = sk.ConstantKernel() * sk.Matern(nu=2.5) + sk.WhiteKernel(0.01)
    gpr = GaussianProcessRegressor(reference, n_restarts_optimizer=3, random_state=0, alpha=1e-6).fit(x_std, y_std)
    assert post.info["log_marginal_likelihood"] >= gpr.log_marginal_likelihood_value_ - 1e-3
    pred = post.predict(XS)
    ref_loc, ref_std = gpr.predict(data.scaler.x(XS), return_std=True)
    np.testing.assert_allclose(pred.mean[:, 0], data.scaler.y_shift + data.scaler.y_scale * np.ravel(ref_loc), atol=1e-2)
    np.testing.assert_allclose(pred.std[:, 0], data.scaler.y_scale * ref_std, rtol=2e-2)
    assert set(post.quantity("lengthscale").mean.ravel().shape) == {1}


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: K.RBF(lengthscale=0.0), ValueError, "lengthscale"),
        (lambda: K.Matern32(variance=-1.0), ValueError, "variance"),
        (lambda: K.Periodic(period=0.0), ValueError, "period"),
        (lambda: K.RBF(ard=True), ValueError, "d_in"),
        (lambda: K.RBF(d_in=2) + K.Matern52(d_in=3), ValueError, "cannot combine"),
        (lambda: K.RBF(d_in=2) * K.Periodic(d_in=1), ValueError, "cannot combine"),
        (lambda: GP(kernel="rbf"), TypeError, "kernel"),
        (lambda: GP(noise_scale=0.0), ValueError, "noise_scale"),
    ],
)
def test_bad_settings_raise(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_methods_reject_non_gp_models_and_mismatched_data():
    from uqlab.models import BayesianMLP

    data = uqlab.Dataset(X, Y)
    for method in ("gp", "gp_nuts", "svgp"):
        with pytest.raises(TypeError, match="needs a uqlab.models.gp.GP"):
            uqlab.fit(BayesianMLP(), data, method)
    with pytest.raises(ValueError, match="expects 2 input columns"):
        uqlab.fit(GP(kernel=K.RBF(d_in=2)), data, "gp")


def test_svgp_elbo_is_tight_at_the_optimal_q_with_z_equal_x():
    """Titsias (2009): with Z = X and the optimal q(v), the ELBO equals log p(y | X, theta)."""
    from uqlab.inference.svgp import svgp_elbo

    model = GP(kernel=K.Matern32(lengthscale=0.8), noise_scale=NOISE, jitter=1e-10)
    with jax.enable_x64(True):
        x, y, hyper = jnp.asarray(X), jnp.asarray(Y), model.init()
        chol = jnp.linalg.cholesky(model.kernel(hyper["kernel"], x, x) + 1e-10 * jnp.eye(len(X)))
        a = chol.T  # L_Z^{-1} K_ZX = L^T when Z = X
        precision = jnp.eye(len(X)) + a @ a.T / NOISE**2
        cov = jnp.linalg.inv(precision)
        q_mu = cov @ a @ y / NOISE**2
        s = jnp.linalg.cholesky(cov)
        raw = jnp.tril(s, -1) + jnp.diag(jnp.log(jnp.diagonal(s)))
        params = {"hyper": hyper, "z": x, "q_mu": q_mu, "q_sqrt": raw}
        elbo = float(svgp_elbo(model, params, x, y, len(X)))
        lml = float(model.log_marginal_likelihood(hyper, x, y))
    np.testing.assert_allclose(elbo, lml, rtol=1e-7)


def test_svgp_with_inducing_points_at_the_data_reaches_the_exact_gp():
    data = uqlab.Dataset(X, Y)
    model = GP(kernel=K.RBF())
    exact = uqlab.fit(model, data, "gp", key=0)
    sparse = uqlab.fit(model, data, "svgp", key=0, num_inducing=len(X), batch_size=None, num_steps=5000,
                       learning_rate=0.05, train_inducing=False, progress=False)
    lml = exact.info["log_marginal_likelihood"]
    assert lml - 0.05 < sparse.info["elbo"] <= lml + 1e-6
    inside = XS[2:-2]  # within the data range, where small hyperparameter differences matter least
    a, b = exact.predict(inside), sparse.predict(inside)
    np.testing.assert_allclose(b.mean, a.mean, atol=0.01 * data.scaler.y_scale[0])
    np.testing.assert_allclose(b.std, a.std, rtol=0.02)


def test_log_marginal_likelihood_gradient_matches_scikit_learn():
    """The closed-form backward pass (R&W eq. 5.9) against sklearn's analytic gradient in log space."""
    model = GP(kernel=K.Matern52(variance=1.3, lengthscale=0.7), noise_scale=NOISE, jitter=1e-10)
    with jax.enable_x64(True):
        params = model.init()
        grad = jax.device_get(jax.grad(model.log_marginal_likelihood)(params, jnp.asarray(X), jnp.asarray(Y)))
    reference = sk.ConstantKernel(1.3) * sk.Matern(0.7, nu=2.5) + sk.WhiteKernel(NOISE**2)
    gpr = GaussianProcessRegressor(reference, optimizer=None, alpha=1e-10).fit(X, Y)
    _, ref = gpr.log_marginal_likelihood(gpr.kernel_.theta, eval_gradient=True)
    # sklearn's theta: log variance, log length-scale, log noise variance (= 2 log noise scale).
    ours = [grad["kernel"]["log_variance"], grad["kernel"]["log_lengthscale"], grad["log_noise"] / 2]
    np.testing.assert_allclose(np.asarray(ours, float), ref, rtol=1e-7, atol=1e-9)


def test_closed_form_gradient_matches_autodiff_through_the_cholesky():
    from uqlab.models.gp import gaussian_log_marginal

    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    cov, resid = a @ a.T + 0.5 * np.eye(6), rng.standard_normal((6, 2))
    reference = lambda c, r: jnp.sum(jax.scipy.stats.multivariate_normal.logpdf(r.T, jnp.zeros(6), c))  # noqa: E731
    with jax.enable_x64(True):
        args = (jnp.asarray(cov), jnp.asarray(resid))
        np.testing.assert_allclose(gaussian_log_marginal(*args), reference(*args), rtol=1e-12)
        ours, ref = jax.grad(gaussian_log_marginal, (0, 1))(*args), jax.grad(reference, (0, 1))(*args)
    sym = lambda g: 0.5 * (g + g.T)  # noqa: E731  # both are valid gradients on the symmetric subspace
    np.testing.assert_allclose(sym(np.asarray(ours[0])), sym(np.asarray(ref[0])), atol=1e-10)
    np.testing.assert_allclose(np.asarray(ours[1]), np.asarray(ref[1]), atol=1e-10)


def _sklearn_twin(post, data):
    """scikit-learn's GP at a fitted posterior's (single) hyperparameters, on standardised data."""
    values = {k: float(np.ravel(post.quantity(k).mean)[0]) for k in ("variance", "lengthscale", "noise")}
    kernel = (sk.ConstantKernel(values["variance"]) * sk.Matern(values["lengthscale"], nu=2.5)
              + sk.WhiteKernel(values["noise"] ** 2))
    return GaussianProcessRegressor(kernel, optimizer=None, alpha=post.model.jitter).fit(*data.standardized())


def test_cached_factor_predicts_as_scikit_learn_and_survives_save_load(tmp_path):
    """The Cholesky factor and alpha kept from the fit give scikit-learn's predictive at the fitted
    hyperparameters; the cache is not saved, and a loaded posterior rebuilds it (same numbers)."""
    data = uqlab.Dataset(X, Y)
    post = uqlab.fit(GP(kernel=K.Matern52()), data, "gp", key=0)
    assert post.__dict__.get("_factors") is not None  # computed at the end of the fit
    gpr = _sklearn_twin(post, data)
    first, second = post.predict(XS), post.predict(XS[::-1])
    ref_loc, ref_std = gpr.predict(data.scaler.x(XS), return_std=True)
    np.testing.assert_allclose(first.mean[:, 0], data.scaler.y_shift + data.scaler.y_scale * np.ravel(ref_loc), atol=1e-8)
    np.testing.assert_allclose(first.std[:, 0], data.scaler.y_scale * ref_std, rtol=1e-8)
    np.testing.assert_allclose(second.mean[::-1], first.mean, rtol=1e-12)

    post.save(tmp_path / "gp.nc")
    loaded = uqlab.load(tmp_path / "gp.nc")
    # load() checks the file by predicting once, which rebuilds the cache from the saved hyperparameters
    again = loaded.predict(XS)
    np.testing.assert_allclose(again.mean, first.mean, rtol=1e-12)
    np.testing.assert_allclose(again.std, first.std, rtol=1e-12)


def test_mixture_over_hyperparameters_cached_equals_uncached(monkeypatch):
    """A fully Bayesian GP posterior (three hyperparameter draws): the cached factors give the same
    mixture as factorising per prediction, member by member equal to ``predict_y`` at that draw;
    thinning with ``num_samples`` and replacing the training targets refresh the cache."""
    from uqlab.inference.gp import GPPosterior
    from uqlab.inference.gp_nuts import GPNUTS

    data = uqlab.Dataset(X, Y)
    model = GP(kernel=K.Matern32())
    with jax.enable_x64(True):
        draws = [model.sample_prior(k) for k in jax.random.split(jax.random.PRNGKey(3), 3)]
    hypers = jax.tree_util.tree_map(lambda *a: np.stack([np.asarray(v, np.float64) for v in a]), *draws)
    x_std, y_std = (np.asarray(a, np.float64) for a in data.standardized())
    post = GPPosterior(GPNUTS(), model, data.scaler, {}, hypers=hypers, x_train=x_std, y_train=y_std)
    cached = post.predict(XS)
    assert post.num_members == 3 and cached.loc.shape == (3, len(XS), 1)
    for s, draw in enumerate(draws):
        with jax.enable_x64(True):
            loc, scale = model.predict_y(draw, jnp.asarray(x_std), jnp.asarray(y_std), jnp.asarray(data.scaler.x(XS)))
        np.testing.assert_allclose(cached.loc[s], data.scaler.y_shift + data.scaler.y_scale * np.asarray(loc), rtol=1e-10)
        np.testing.assert_allclose(cached.scale[s], data.scaler.y_scale * np.asarray(scale), rtol=1e-10)
    thinned = post.predict(XS, num_samples=2)
    np.testing.assert_allclose(thinned.loc, cached.loc[[0, 2]], rtol=1e-12)

    monkeypatch.setattr(GPPosterior, "max_cached_bytes", 0)  # too large to keep: factorise per call
    fresh = GPPosterior(GPNUTS(), model, data.scaler, {}, hypers=hypers, x_train=x_std, y_train=y_std)
    uncached = fresh.predict(XS)
    assert fresh.__dict__.get("_factors") is None
    np.testing.assert_allclose(uncached.loc, cached.loc, rtol=1e-12)
    np.testing.assert_allclose(uncached.scale, cached.scale, rtol=1e-12)
    monkeypatch.undo()

    post.predict(XS)  # the cache now holds all three members
    post.y_train = -y_std
    np.testing.assert_allclose(post.predict(XS).loc - data.scaler.y_shift, -(cached.loc - data.scaler.y_shift), rtol=1e-10)
