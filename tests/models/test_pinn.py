"""PINN model: residual operators on analytic fields, gradients, quantities, hashing, dropout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.models.pinn import PINN, BurgersEquation, Points, VorticityEquation

RNG = np.random.default_rng(0)
Z2 = jnp.asarray(RNG.uniform(-1, 1, (16, 2)))
Z3 = jnp.asarray(np.c_[RNG.uniform(0, 2 * np.pi, (16, 2)), RNG.uniform(0, 1, 16)])


def test_burgers_residual_of_analytic_field():
    """u = sin(pi x) exp(-t): R = -u + u pi cos(pi x) e^-t + nu pi^2 u."""
    nu = 0.1
    field = lambda z: (jnp.sin(jnp.pi * z[:, 0]) * jnp.exp(-z[:, 1]))[:, None]  # noqa: E731
    u = field(Z2)[:, 0]
    u_x = jnp.pi * jnp.cos(jnp.pi * Z2[:, 0]) * jnp.exp(-Z2[:, 1])
    expected = -u + u * u_x + nu * jnp.pi**2 * u
    np.testing.assert_allclose(BurgersEquation().residual(field, Z2, {"nu": nu})[:, 0], expected, atol=2e-5)


def test_burgers_residual_vanishes_on_the_exact_viscous_shock():
    """u = -tanh(x / (2 nu)) is a steady solution: u u_x = nu u_xx exactly."""
    nu = 0.05
    field = lambda z: -jnp.tanh(z[:, :1] / (2 * nu)) + 0.0 * z[:, 1:]  # noqa: E731
    residual = BurgersEquation().residual(field, Z2, {"nu": nu})
    # |u u_x| reaches 1 / (2 nu) = 10 here: float32 relative error ~1e-7 per term
    np.testing.assert_allclose(residual, 0.0, atol=1e-4)
    assert np.abs(BurgersEquation().residual(field, Z2, {"nu": 2 * nu})).max() > 0.1


def test_vorticity_residual_vanishes_on_taylor_green():
    """w = 2 cos x cos y e^{-2 nu t}, psi = w / 2 solves the unforced equation exactly."""
    nu = 0.07

    def field(z):
        w = 2 * jnp.cos(z[:, 0]) * jnp.cos(z[:, 1]) * jnp.exp(-2 * nu * z[:, 2])
        return jnp.stack([w, w / 2], axis=1)

    np.testing.assert_allclose(VorticityEquation().residual(field, Z3, {"nu": nu}), 0.0, atol=2e-5)
    assert np.abs(VorticityEquation().residual(field, Z3, {"nu": 2 * nu})).max() > 0.1


def test_gradients_quantities_and_shapes():
    model = PINN(collocation=np.asarray(Z2), widths=(8, 8))
    params = model.init(jax.random.PRNGKey(0))
    assert float(model.quantities(params)["nu"]) == pytest.approx(0.01, rel=1e-5)
    batch = {"x": Z2, "y": jnp.zeros((16, 1))}
    assert model.log_likelihood(params, batch).shape == (16,)
    loc, scale = model.apply(params, Z2)
    assert loc.shape == scale.shape == (16, 1)
    grads = jax.grad(lambda p: model.log_extra(p) + model.log_prior(p))(params)
    assert jax.tree_util.tree_structure(grads) == jax.tree_util.tree_structure(params)
    assert float(jnp.abs(grads["log_nu"])) > 0
    forward = model.replace(nu=0.02)
    assert "log_nu" not in forward.init(jax.random.PRNGKey(0)) and forward.quantities({}) == {}


def test_hashable_by_content_and_dropout():
    a = PINN(collocation=np.asarray(Z2), widths=(8,))
    b = PINN(collocation=Points(np.asarray(Z2)), widths=(8,))
    assert a == b and hash(a) == hash(b)
    assert a != PINN(collocation=np.asarray(Z2) + 1.0, widths=(8,))
    dropout = a.replace(dropout_rate=0.3)
    params = dropout.init(jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(1)
    assert dropout.log_extra(params) == a.log_extra(params)
    # dropout only in training mode, as for the data term (log_joint passes the same key and train)
    assert dropout.log_extra(params, key=key) == a.log_extra(params)
    assert dropout.log_extra(params, key=key, train=True) != dropout.log_extra(params)


def test_adaptive_slopes_scale_preactivations():
    """exp(s) * (h W + b) per unit: s = 0 is the plain network, s = log 2 doubles W and b."""
    plain = PINN(collocation=np.asarray(Z2), widths=(8, 8), nu=0.02)
    adaptive = plain.replace(adaptive_slopes=True)
    params = adaptive.init(jax.random.PRNGKey(0))
    assert [s.shape for s in params["log_slope"]] == [(8,), (8,)]
    base = {k: v for k, v in params.items() if k != "log_slope"}
    np.testing.assert_allclose(adaptive.fields(params, Z2), plain.fields(base, Z2), rtol=1e-6)
    doubled = {**params, "log_slope": [s + jnp.log(2.0) for s in params["log_slope"]]}
    scaled = {**base, "net": [{"w": 2 * lay["w"], "b": 2 * lay["b"]} for lay in base["net"][:-1]] + [base["net"][-1]]}
    np.testing.assert_allclose(adaptive.fields(doubled, Z2), plain.fields(scaled, Z2), rtol=1e-5, atol=1e-6)
    # the slopes have their own Gaussian prior: log p differs by exactly the log-slope prior terms
    prior_gap = adaptive.log_prior(doubled) - adaptive.log_prior(params)
    expected = 16 * (0.0 - np.log(2.0) ** 2) / (2 * adaptive.log_slope_prior[1] ** 2)
    assert float(prior_gap) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("equation, points", [(BurgersEquation(domain=((-1.0, 1.0), (0.0, 2.0))), Z2),
                                             (VorticityEquation(time_span=(0.0, 3.0)), Z3)])
def test_resampled_collocation_points(equation, points):
    """With ``resample``, a key gives M fresh uniform points on the domain; no key gives the fixed ones."""
    model = PINN(equation, np.asarray(points), widths=(8,), resample=True)
    fixed = np.asarray(model.collocation_points())
    np.testing.assert_array_equal(fixed, np.asarray(points, np.float32))
    key = jax.random.PRNGKey(3)
    fresh = np.asarray(model.collocation_points(key))
    assert fresh.shape == fixed.shape
    np.testing.assert_array_equal(fresh, model.collocation_points(key))  # a function of the key
    assert not np.allclose(fresh, model.collocation_points(jax.random.PRNGKey(4)))
    many = np.asarray(model.replace(resample_size=20000).collocation_points(key))
    low, high = (np.array([-1.0, 0.0]), np.array([1.0, 2.0])) if points is Z2 else (np.zeros(3), np.array([2 * np.pi, 2 * np.pi, 3.0]))
    assert np.all(many >= low) and np.all(many < high)
    # uniform: mean (low + high) / 2 within 4 standard errors (sd of U(a, b) is (b - a) / sqrt 12)
    np.testing.assert_array_less(np.abs(many.mean(0) - (low + high) / 2), 4 * (high - low) / np.sqrt(12 * 20000))
    # the residual term follows: with a key (a training step) it is evaluated at the fresh points
    params = model.init(jax.random.PRNGKey(0))
    assert model.log_extra(params) == model.replace(resample=False).log_extra(params)
    assert model.log_extra(params, key=key) != model.log_extra(params)
    assert model.replace(resample=False).log_extra(params, key=key) == model.log_extra(params)
    # resample_size sets the number of fresh points only: the fixed ones stay
    assert model.replace(resample_size=3).collocation_points(key).shape == (3, points.shape[1])
    np.testing.assert_array_equal(model.replace(resample_size=3).collocation_points(), fixed)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"collocation": None}, "collocation"),
        ({"collocation": np.zeros((4, 3))}, "collocation"),
        ({"collocation": np.zeros((4, 2)), "residual_scale": 0.0}, "residual_scale"),
        ({"collocation": np.zeros((4, 2)), "nu": -1.0}, "nu"),
        ({"collocation": np.zeros((4, 2)), "resample_size": 0}, "resample_size"),
    ],
)
def test_bad_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        PINN(**settings)


def test_flags_must_be_booleans():
    with pytest.raises(TypeError, match="resample: expected True or False"):
        PINN(collocation=np.zeros((4, 2)), resample="yes")
