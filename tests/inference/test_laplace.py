"""Laplace: exact on Bayesian linear regression; marginal-likelihood tuning of the prior precision."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import tiny_data, tiny_mlp
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


def _evidence(x, y, noise_scale, alpha):
    """Closed-form evidence of Bayesian linear regression with design ``x`` (Bishop, 2006, eq. 3.86)."""
    beta, (n, d) = noise_scale**-2, x.shape
    a = alpha * np.eye(d) + beta * x.T @ x
    m = beta * np.linalg.solve(a, x.T @ y)
    e = beta / 2 * np.sum((y - x @ m) ** 2) + alpha / 2 * m @ m
    return d / 2 * np.log(alpha) + n / 2 * np.log(beta) - e - np.linalg.slogdet(a)[1] / 2 - n / 2 * np.log(2 * np.pi)


def _check_evidence_maximiser(post, x, y, noise_scale):
    best = PRIOR_GRID[np.argmax([_evidence(x, y, noise_scale, a) for a in PRIOR_GRID])]
    chosen = post.info["prior_precision"]
    # Post hoc (at the MAP of the model's own prior) vs re-solved per alpha: same optimum within 2x.
    assert best / 2 <= chosen <= best * 2, (chosen, best)
    assert post.info["log_marginal_likelihood"] == pytest.approx(_evidence(x, y, noise_scale, chosen), abs=0.5)


def test_marginal_likelihood_picks_the_evidence_maximiser(problem):
    model, data = problem
    post = uqlab.fit(model, data, Laplace(**MAP), key=0)
    _check_evidence_maximiser(post, data.x, data.y[:, 0], model.noise_scale)


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


# ---- Kronecker-factored (KFAC) GGN ----------------------------------------------------------------


@pytest.fixture(scope="module")
def one_layer():
    """A BayesianMLP with no hidden layer: Bayesian linear regression on ``[x, 1]`` (with a bias)."""
    from uqlab.models import BayesianMLP, Gaussian

    _, data = linear_regression_problem(num_points=40, correlation=0.6)
    y = data.y + 0.3  # a non-zero intercept for the bias to find
    data = uqlab.Dataset(data.x, y, standardize=False)
    model = BayesianMLP(d_in=2, widths=(), prior="isotropic", prior_scale=2.0**-0.5, likelihood=Gaussian(noise_scale=0.5))
    return model, data, np.column_stack([data.x, np.ones(data.num_points)])


def _dense_kron_covariance(post):
    """Sigma of the Kronecker posterior as a dense matrix (block-diagonal over layers)."""
    blocks = []
    for f in post.kron_factors:
        q = np.kron(f["a_vectors"], f["g_vectors"])
        eig = np.outer(np.clip(f["a_values"], 0, None), np.clip(f["g_values"], 0, None)).ravel()
        blocks.append((q / (eig + post.prior_precision)) @ q.T)
    size = sum(len(b) for b in blocks)
    cov, start = np.zeros((size, size)), 0
    for b in blocks:
        cov[start : start + len(b), start : start + len(b)] = b
        start += len(b)
    return cov


def test_kron_on_one_linear_layer_is_exact(one_layer):
    model, data, design = one_layer
    y = data.y[:, 0]
    post = uqlab.fit(model, data, Laplace(hessian="kron", prior_precision=2.0, **MAP), key=0)
    cov = np.linalg.inv(design.T @ design / 0.5**2 + 2.0 * np.eye(3))
    mean = cov @ design.T @ y / 0.5**2  # order [w_1, w_2, b]: the KFAC order [W; b]
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(post.mean, mean, atol=1e-2 * sd.min())
    np.testing.assert_allclose(_dense_kron_covariance(post), cov, rtol=1e-4, atol=1e-7)
    x_new = np.array([[1.0, -1.0], [0.3, 2.0]])
    d_new = np.column_stack([x_new, np.ones(2)])
    pred = post.predict(x_new)
    np.testing.assert_allclose(pred.mean[:, 0], d_new @ mean, atol=1e-2 * sd.min())
    np.testing.assert_allclose(pred.var[:, 0], np.einsum("np,pq,nq->n", d_new, cov, d_new) + 0.5**2, rtol=1e-4)
    tuned = uqlab.fit(model, data, Laplace(hessian="kron", **MAP), key=0)
    _check_evidence_maximiser(tuned, design, y, 0.5)


@pytest.fixture(scope="module")
def bnn_kron():
    data = tiny_data(num_points=40)
    return data, uqlab.fit(tiny_mlp(), data, Laplace(hessian="kron", num_steps=500, subset="all", progress=False), key=0)


def test_kron_variance_is_the_linearised_variance_of_the_kronecker_posterior(bnn_kron):
    """The closed-form predictive equals ``J Sigma J^T`` with J by autodiff and Sigma formed densely."""
    import jax
    import jax.numpy as jnp

    data, post = bnn_kron
    x_new = np.linspace(-6, 6, 13)[:, None]
    params, x = post.params, jnp.asarray(post.scaler.x(x_new), jnp.float32)  # the model sees standardised x

    def mean_of(theta):  # the inverse of the KFAC order: per layer [W; b] row-major
        net, start = [], 0
        for layer in params["net"]:
            (n_in, n_out), size = layer["w"].shape, (layer["w"].shape[0] + 1) * layer["w"].shape[1]
            block = theta[start : start + size].reshape(n_in + 1, n_out)
            net.append({"w": block[:-1], "b": block[-1]})
            start += size
        return post.model.apply({**params, "net": net}, x)[0][:, 0]

    jac = np.asarray(jax.jacrev(mean_of)(jnp.asarray(post.mean)), np.float64)
    scale = np.asarray(post.model.apply(params, x)[1][:, 0], np.float64)
    expected = np.einsum("np,pq,nq->n", jac, _dense_kron_covariance(post), jac) + scale**2
    pred = post.predict(x_new)  # in original units: y is rescaled by y_scale
    np.testing.assert_allclose(pred.var[:, 0] / post.scaler.y_scale[0] ** 2, expected, rtol=1e-3)


def test_kron_bnn_variance_is_sensible(bnn_kron, tmp_path):
    data, post = bnn_kron
    inside, outside = post.predict(data.x), post.predict(np.array([[-6.0], [6.0]]))
    for pred in (inside, outside):
        assert np.all(np.isfinite(pred.var)) and np.all(pred.var > 0)
    noise = post.model.apply(post.params, np.zeros((1, 1)))[1][0, 0] * post.scaler.y_scale[0]
    # epistemic variance on top of the noise, larger far from the data (|x| <= 2) than on it
    assert np.all(inside.var > noise**2)
    assert outside.var.min() > inside.var.max()
    back = uqlab.load(post.save(tmp_path / "kron.nc"))
    np.testing.assert_array_equal(back.predict(data.x_test).scale, post.predict(data.x_test).scale)


def test_kron_prior_precision_follows_the_weight_scale():
    """Larger targets need larger weights: the evidence-maximising prior precision goes down."""
    from uqlab.models import Gaussian

    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (40, 1))
    z = np.sin(2 * x) + 0.1 * rng.standard_normal((40, 1))
    chosen = []
    for amplitude in (0.3, 3.0):
        data = uqlab.Dataset(x, amplitude * z, standardize=False)
        model = tiny_mlp(likelihood=Gaussian(noise_scale=0.1 * amplitude))
        post = uqlab.fit(model, data, Laplace(hessian="kron", subset="all", num_steps=500, progress=False), key=0)
        chosen.append(post.info["prior_precision"])
    assert chosen[1] < chosen[0] / 2, chosen


def test_kron_needs_an_mlp(problem):
    model, data = problem
    with pytest.raises(TypeError, match="hessian: 'kron' needs an MLP"):
        uqlab.fit(model, data, Laplace(hessian="kron", **MAP), key=0)
